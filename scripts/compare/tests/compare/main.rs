//! The integration tests of `compare-protocols`, in one test binary (one link step, one process
//! start), one module per subject:
//! - [`report`]: `--smoke` end to end, the report's tables, CSV files and charts.
//! - [`docs`]: the course hub and the concepts page stay true (transcripts and links).
//! - [`figures`]: every performance figure in the docs is backed by a results file or marked
//!   as a dated example.
//! - [`references`]: every RFC citation names its section, and docs/references.md lists them.

mod docs;
mod figures;
mod references;
mod report;
