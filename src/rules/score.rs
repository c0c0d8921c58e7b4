//! Scoring, exactly as catalogue §2. The arithmetic is pure and works on the report's
//! vocabulary alone, so it lives with it in [`crate::vocab::scoring`]; this path stays for
//! the callers in `rules/`.

pub use crate::vocab::scoring::*;
