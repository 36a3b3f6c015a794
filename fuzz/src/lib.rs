//! The QMP monitor's protocol code, built from the binary's own source
//! files for the fuzz targets.
//!
//! The emulator is a binary crate without a library, so its modules cannot
//! be imported. The files below are the monitor's input and protocol side
//! (the JSON stream lexer and parser, the writer, and the QMP session);
//! they use nothing of the binary but each other, serde_json and the
//! schema crate, so including them by path compiles exactly the code the
//! monitor runs.

#[path = "../../src/monitor/json_parser.rs"]
pub mod json_parser;
#[path = "../../src/monitor/json_stream.rs"]
pub mod json_stream;
#[path = "../../src/monitor/json_writer.rs"]
pub mod json_writer;
#[path = "../../src/monitor/qmp.rs"]
pub mod qmp;
#[path = "../../src/monitor/unicode.rs"]
pub mod unicode;
