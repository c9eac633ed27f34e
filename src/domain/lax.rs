//! How pydantic v2 in its default (lax) mode reads a string as a number or a
//! yes/no value, so that bodies FastAPI accepted are accepted here too.
//! The rules were taken from pydantic 2.14 by experiment and are held to it
//! by the differential test against FastAPI (`tests/parity/`).

/// Why a string is not an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntTextError {
    /// Not an integer spelling: pydantic's `int_parsing`.
    Syntax,
    /// More significant digits than Python converts (`int_parsing_size`).
    TooLong,
}

/// Python refuses to convert integer strings with more digits than this
/// (`sys.get_int_max_str_digits()`), and pydantic reports it as its own error.
const MAX_INT_DIGITS: usize = 4300;

/// An integer string as pydantic reads it: surrounding Unicode white space
/// ignored, an optional sign, ASCII digits with single underscores between
/// them, and an optional fraction of zeros only (`"619.00"`). The value is
/// returned as an `f64`; it is only compared with small bounds, which `f64`
/// holds exactly.
pub fn int_from_text(text: &str) -> Result<f64, IntTextError> {
    let t = text.trim();
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let zeros = |f: &str| !f.is_empty() && f.bytes().all(|b| b == b'0');
    if !fraction.is_none_or(zeros) || !whole.split('_').all(is_digits) {
        return Err(IntTextError::Syntax);
    }
    let digits: String = whole.chars().filter(|c| *c != '_').collect();
    if digits.trim_start_matches('0').len() > MAX_INT_DIGITS {
        return Err(IntTextError::TooLong);
    }
    // Past f64's range is still "too large" to the bounds check, not infinite.
    let magnitude = digits.parse::<f64>().map_err(|_| IntTextError::Syntax)?.min(f64::MAX);
    // `0.0 - 0.0` is `+0.0`: "-0" is the integer 0.
    Ok(if t.starts_with('-') { 0.0 - magnitude } else { magnitude })
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A number string as pydantic reads it: Rust's own float syntax after
/// trimming white space (so `inf`, `NaN`, `1e3` and `.5` all parse), and
/// failing that, the same with underscores removed, unless one leads, ends
/// or doubles (`1_000.5`, not `_1`, `1_` or `1__0`). `None` if neither parses.
pub fn float_from_text(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Ok(n) = t.parse() {
        return Some(n);
    }
    if t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    t.replace('_', "").parse().ok()
}

/// pydantic's spellings of a boolean, matched without regard to ASCII case
/// and without trimming.
pub fn bool_from_text(text: &str) -> Option<bool> {
    const FALSE: [&str; 6] = ["0", "off", "f", "false", "n", "no"];
    const TRUE: [&str; 6] = ["1", "on", "t", "true", "y", "yes"];
    let is = |words: [&str; 6]| words.iter().any(|w| w.eq_ignore_ascii_case(text));
    if is(FALSE) {
        Some(false)
    } else if is(TRUE) {
        Some(true)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_strings_are_read_as_pydantic_reads_them() {
        let ok = [
            ("619", 619.0),
            (" 619 ", 619.0),
            ("\u{3000}619\n", 619.0),
            ("+619", 619.0),
            ("-619", -619.0),
            ("0619", 619.0),
            ("6_1_9", 619.0),
            ("619.00", 619.0),
            ("-0.0", 0.0),
        ];
        for (text, n) in ok {
            assert_eq!(int_from_text(text), Ok(n), "{text:?}");
        }
        let syntax = [
            "",
            " ",
            "619.",
            ".0",
            "619.5",
            "6__19",
            "_619",
            "619_",
            "+_619",
            "+ 619",
            "1e2",
            "0x26B",
            "619.0_0",
            "\u{0666}",
            "619\u{1c}",
            "-",
        ];
        for text in syntax {
            assert_eq!(int_from_text(text), Err(IntTextError::Syntax), "{text:?}");
        }
        assert_eq!(int_from_text(&"1".repeat(4301)), Err(IntTextError::TooLong));
        assert!(int_from_text(&"1".repeat(4300)).is_ok());
        assert_eq!(int_from_text(&format!("{}1", "0".repeat(5000))), Ok(1.0));
    }

    #[test]
    fn number_strings_are_read_as_pydantic_reads_them() {
        let ok = [
            ("1.5", 1.5),
            (" 1.5\n", 1.5),
            ("1e3", 1000.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1_000.5", 1000.5),
            ("1_e_3", 1000.0),
            ("+_1", 1.0),
        ];
        for (text, n) in ok {
            assert_eq!(float_from_text(text), Some(n), "{text:?}");
        }
        assert_eq!(float_from_text("Infinity"), Some(f64::INFINITY));
        assert_eq!(float_from_text("in_f"), Some(f64::INFINITY));
        assert!(float_from_text("nan").is_some_and(f64::is_nan));
        for text in ["", "abc", "1__0", "_1", "1_", "0x10", "1,5", "1 000", "1e"] {
            assert_eq!(float_from_text(text), None, "{text:?}");
        }
    }

    #[test]
    fn boolean_strings_are_pydantics_twelve_spellings() {
        for text in ["1", "on", "T", "true", "Y", "YES"] {
            assert_eq!(bool_from_text(text), Some(true), "{text:?}");
        }
        for text in ["0", "OFF", "f", "False", "n", "no"] {
            assert_eq!(bool_from_text(text), Some(false), "{text:?}");
        }
        for text in ["", "2", "true ", "1.0", "ja"] {
            assert_eq!(bool_from_text(text), None, "{text:?}");
        }
    }
}
