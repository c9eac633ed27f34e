"""The FastAPI oracle: the request models of churn-serve's native API written
the way a FastAPI user writes them, served by FastAPI and pydantic v2 in their
default (lax) mode. `differential.py` sends every generated body to this app
and to the real server and compares the answers.

Names: snake_case is the API name and the Churn_Modelling column name is
accepted too. `validation_alias=AliasChoices(name, Column)` says exactly that
(the first name wins when both are sent, and a missing field is reported under
the snake_case name). `alias="Column"` with `populate_by_name=True` would make
the column name primary instead: it would be the name in the OpenAPI schema
and in every error location, which is not this API.

The flags are `bool`: FastAPI users declare yes/no fields that way, and it is
what makes pydantic accept 0/1, true/false and "yes"/"no"-style strings.
"""

from typing import Literal, Optional

from fastapi import FastAPI
from pydantic import AliasChoices, BaseModel, Field

MAX_BATCH_SIZE = 1000  # churn-serve's default max_batch_size


def feature(name: str, column: str, **constraints):
    return Field(validation_alias=AliasChoices(name, column), **constraints)


class CustomerRequest(BaseModel):
    customer_id: Optional[str] = Field(default=None, max_length=256)
    credit_score: int = feature("credit_score", "CreditScore", ge=300, le=850)
    geography: Literal["France", "Spain", "Germany"] = feature("geography", "Geography")
    gender: Literal["Male", "Female"] = feature("gender", "Gender")
    age: int = feature("age", "Age", ge=18, le=100)
    tenure: int = feature("tenure", "Tenure", ge=0, le=10)
    balance: float = feature("balance", "Balance", ge=0)
    num_of_products: int = feature("num_of_products", "NumOfProducts", ge=1, le=4)
    has_cr_card: bool = feature("has_cr_card", "HasCrCard")
    is_active_member: bool = feature("is_active_member", "IsActiveMember")
    estimated_salary: float = feature("estimated_salary", "EstimatedSalary", ge=0)


class BatchRequest(BaseModel):
    customers: list[CustomerRequest] = Field(min_length=1, max_length=MAX_BATCH_SIZE)


app = FastAPI(title="churn-serve oracle")


@app.post("/api/v1/predict")
def predict(customer: CustomerRequest) -> dict:
    return {"customer_id": customer.customer_id}


@app.post("/api/v1/predict/batch")
def predict_batch(batch: BatchRequest) -> dict:
    return {"count": len(batch.customers)}
