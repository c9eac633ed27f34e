//! Thin entry point: parse flags, load config, then hand over to the library.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use churn_serve::config::Settings;
use churn_serve::startup::Application;
use churn_serve::{healthcheck, shutdown, telemetry};
use clap::{Parser, Subcommand};

/// mimalloc: the request path allocates and frees small objects across
/// threads (tokio workers, inference threads), where glibc malloc spent a
/// large share of the server's CPU. Built with `no_thp` so it does not ask
/// for huge pages, which raise resident memory (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Bank customer churn prediction service (ONNX Runtime + axum).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML); defaults to configs/default.toml when present.
    #[arg(long, env = "CHURN_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// ONNX Runtime shared library (libonnxruntime.so); overrides the config.
    #[arg(long, env = "ORT_DYLIB_PATH", global = true)]
    ort_dylib_path: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the model over HTTP (the default).
    Serve,
    /// Exit 0 if the local server's /health answers 200 (container HEALTHCHECK).
    Healthcheck {
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Print the most memory (MiB) the configured server may use; size the
    /// container's memory limit at or above it.
    MemoryBudget,
    /// Answer AWS Lambda invocations (API Gateway, function URLs) with the
    /// same routes as `serve` (the Lambda Runtime API replaces the listener).
    #[cfg(feature = "lambda")]
    Lambda,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if let Some(path) = cli.ort_dylib_path {
        settings.ort_dylib_path = path;
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match serve(settings) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        #[cfg(feature = "lambda")]
        Command::Lambda => match lambda(settings) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Command::MemoryBudget => {
            println!("{}", settings.memory_budget_bytes().div_ceil(1 << 20));
            ExitCode::SUCCESS
        }
        Command::Healthcheck { timeout } => {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, settings.port));
            match healthcheck::probe(addr, Duration::from_secs(timeout)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
    }
}

/// Runs the server; the error is returned (not printed) so that queued log
/// lines are flushed, when the log guard drops, before the final error line.
fn serve(settings: Settings) -> Result<(), String> {
    let _log_guard = telemetry::init(&settings.log_level, settings.log_format);
    runtime(&settings)?.block_on(async {
        let app = Application::build(settings).await.map_err(|e| e.to_string())?;
        app.run_until(shutdown::signal()).await;
        Ok(())
    })
}

#[cfg(feature = "lambda")]
fn lambda(settings: Settings) -> Result<(), String> {
    let _log_guard = telemetry::init(&settings.log_level, settings.log_format);
    runtime(&settings)?.block_on(churn_serve::lambda::run(&settings))
}

fn runtime(settings: &Settings) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.http_thread_count())
        .thread_name("http")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// Startup failures are one line on stderr naming the cause, and exit 1.
fn fail(cause: &dyn std::fmt::Display) -> ExitCode {
    let line = cause.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
    eprintln!("error: {line}");
    ExitCode::FAILURE
}
