//! QMP requests from any bytes: every input value's members are decoded as
//! the arguments of every command of the schema, and the value goes
//! through a QMP session whose commands only decode their arguments. Bad
//! input must get an error reply, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qapi::{CommandEntry, QmpCommand, QmpError, COMMANDS};
use rqemu_fuzz::json_stream::JsonStream;
use rqemu_fuzz::qmp::{wire_bytes, CommandHandler, QmpSession};
use serde_json::{Map, Value};

/// Knows every command of the schema; running one only decodes its
/// arguments, so nothing outside the dispatcher is reached.
struct DecodeOnly;

impl CommandHandler for DecodeOnly {
    fn command(&self, name: &str) -> Option<&'static CommandEntry> {
        qapi::commands::command(name)
    }

    fn dispatch(&mut self, name: &str, args: Map<String, Value>) -> Result<Value, QmpError> {
        QmpCommand::decode(name, &args).map(|_| Value::Object(Map::new()))
    }
}

fn decode_for_every_command(args: &Map<String, Value>) {
    for entry in COMMANDS {
        // Errors are the expected outcome; only a panic is a finding.
        let _ = QmpCommand::decode(entry.name, args);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut items = Vec::new();
    JsonStream::default().feed(data, &mut items);
    let mut session = QmpSession::default();
    for item in items {
        if let Ok(Value::Object(request)) = &item {
            decode_for_every_command(request);
            if let Some(Value::Object(args)) = request.get("arguments") {
                decode_for_every_command(args);
            }
        }
        let reply = session.handle(item, &mut DecodeOnly);
        let _ = wire_bytes(&reply, false);
    }
});
