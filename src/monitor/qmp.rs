//! One QMP conversation (QEMU's monitor/qmp.c and qapi/qmp-dispatch.c):
//! the greeting, capabilities negotiation, the checks on each request's
//! envelope, dispatch to a `CommandHandler`, and the replies, in QEMU's
//! words and member order.

use serde_json::{json, Map, Value};

use super::json_stream::StreamItem;
use super::json_writer::{qdict_order, to_json};

pub use qapi::error::{ErrorClass, QmpError};
use qapi::CommandEntry;

/// The commands a monitor can run, by QMP name. `qmp_capabilities`
/// belongs to the session and never reaches a handler.
pub trait CommandHandler {
    /// The command `name`, if there is one.
    fn command(&self, name: &str) -> Option<&'static CommandEntry>;
    /// Runs command `name` (which `command` knows) with its `arguments`
    /// (empty when the request had none); returns its `return` value.
    fn dispatch(&mut self, name: &str, args: Map<String, Value>) -> Result<Value, QmpError>;
}

/// The capabilities a client may enable with `qmp_capabilities`.
const CAPABILITIES: [&str; 1] = ["oob"];

/// The state of one client's conversation.
#[derive(Debug, Default)]
pub struct QmpSession {
    /// `qmp_capabilities` succeeded: every command is available and
    /// events are sent.
    negotiated: bool,
    oob_enabled: bool,
}

impl QmpSession {
    /// A new client: back to capabilities negotiation.
    pub fn reset(&mut self) {
        *self = QmpSession::default();
    }

    /// Whether the client gets events (only after negotiation).
    pub fn receives_events(&self) -> bool {
        self.negotiated
    }

    /// The greeting every new client gets.
    pub fn greeting() -> Value {
        json!({"QMP": {"version": version(), "capabilities": CAPABILITIES}})
    }

    /// Handles one input value (or input error); returns the reply.
    pub fn handle(&mut self, input: StreamItem, handler: &mut dyn CommandHandler) -> Value {
        let request = match input {
            Ok(request) => request,
            Err(desc) => return error_reply(&QmpError::generic(desc), None),
        };
        let Value::Object(request) = request else {
            return error_reply(&QmpError::generic("QMP input must be a JSON object"), None);
        };
        let id = request.get("id").cloned();
        let result = self.execute(request, handler).map_err(|e| {
            // A client that has not negotiated learns what it must do.
            if !self.negotiated && e.class == ErrorClass::CommandNotFound {
                QmpError::new(
                    ErrorClass::CommandNotFound,
                    "Expecting capabilities negotiation with 'qmp_capabilities'",
                )
            } else {
                e
            }
        });
        match result {
            Ok(value) => {
                let mut reply = Map::new();
                reply.insert("return".to_string(), value);
                if let Some(id) = id {
                    reply.insert("id".to_string(), id);
                }
                Value::Object(reply)
            }
            Err(e) => error_reply(&e, id),
        }
    }

    fn execute(
        &mut self,
        mut request: Map<String, Value>,
        handler: &mut dyn CommandHandler,
    ) -> Result<Value, QmpError> {
        let (name, oob) = self.check_envelope(&request)?;
        let args = match request.remove("arguments") {
            Some(Value::Object(args)) => args,
            _ => Map::new(),
        };
        if name == "qmp_capabilities" {
            if oob {
                return Err(QmpError::generic(
                    "The command qmp_capabilities does not support OOB",
                ));
            }
            return self.negotiate(args);
        }
        let info = handler
            .command(&name)
            .filter(|_| self.negotiated)
            .ok_or_else(|| QmpError::command_not_found(&name))?;
        if oob && !info.allow_oob {
            return Err(QmpError::generic(format!(
                "The command {name} does not support OOB"
            )));
        }
        handler.dispatch(&name, args)
    }

    /// QEMU's checks on the members of a request, in the order it meets
    /// them; returns the command name and whether it came as `exec-oob`.
    fn check_envelope(&self, request: &Map<String, Value>) -> Result<(String, bool), QmpError> {
        let mut command: Option<(&str, &str)> = None;
        for (member, value) in qdict_order(request) {
            match member.as_str() {
                "execute" | "exec-oob" if member == "execute" || self.oob_enabled => {
                    let Value::String(name) = value else {
                        return Err(QmpError::generic(format!(
                            "QMP input member '{member}' must be a string"
                        )));
                    };
                    if let Some((other, _)) = command {
                        return Err(QmpError::generic(format!(
                            "QMP input member '{member}' clashes with '{other}'"
                        )));
                    }
                    command = Some((member, name));
                }
                "arguments" if !value.is_object() => {
                    return Err(QmpError::generic(
                        "QMP input member 'arguments' must be an object",
                    ));
                }
                "arguments" | "id" => {}
                other => {
                    return Err(QmpError::generic(format!(
                        "QMP input member '{other}' is unexpected"
                    )))
                }
            }
        }
        match command {
            Some((member, name)) => Ok((name.to_string(), member == "exec-oob")),
            None => Err(QmpError::generic("QMP input lacks member 'execute'")),
        }
    }

    /// `qmp_capabilities [enable: ['oob']]`.
    fn negotiate(&mut self, mut args: Map<String, Value>) -> Result<Value, QmpError> {
        if self.negotiated {
            return Err(QmpError::new(
                ErrorClass::CommandNotFound,
                "Capabilities negotiation is already complete, command ignored",
            ));
        }
        let mut oob = false;
        if let Some(enable) = args.remove("enable") {
            let Value::Array(list) = enable else {
                return Err(QmpError::generic(
                    "Invalid parameter type for 'enable', expected: array",
                ));
            };
            for (i, item) in list.iter().enumerate() {
                match item {
                    Value::String(cap) if CAPABILITIES.contains(&cap.as_str()) => oob = true,
                    // QEMU 7.2 names a list element 'null' here.
                    Value::String(cap) => {
                        return Err(QmpError::generic(format!(
                            "Parameter 'null' does not accept value '{cap}'"
                        )))
                    }
                    _ => {
                        return Err(QmpError::generic(format!(
                            "Invalid parameter type for 'enable[{i}]', expected: string"
                        )))
                    }
                }
            }
        }
        reject_unexpected(&args)?;
        self.negotiated = true;
        self.oob_enabled = oob;
        Ok(json!({}))
    }
}

/// QEMU's check that a command got no argument it does not take: `args`
/// holds what the command did not use.
pub fn reject_unexpected(args: &Map<String, Value>) -> Result<(), QmpError> {
    match qdict_order(args).first() {
        Some((name, _)) => Err(QmpError::generic(format!(
            "Parameter '{name}' is unexpected"
        ))),
        None => Ok(()),
    }
}

/// `query-version`'s value, which the greeting carries too.
pub fn version() -> Value {
    let v = qapi::version::QEMU_VERSION;
    json!({
        "qemu": {"major": v.major, "minor": v.minor, "micro": v.micro},
        "package": qapi::version::package(),
    })
}

fn error_reply(error: &QmpError, id: Option<Value>) -> Value {
    let mut reply = Map::new();
    reply.insert(
        "error".to_string(),
        json!({"class": error.class.as_str(), "desc": error.desc}),
    );
    if let Some(id) = id {
        reply.insert("id".to_string(), id);
    }
    Value::Object(reply)
}

/// A message as a monitor sends it: JSON, then a line end; as QEMU's
/// monitor output, every line ends in CRLF (pretty output has several).
pub fn wire_bytes(message: &Value, pretty: bool) -> Vec<u8> {
    let text = to_json(message, pretty);
    let mut bytes = Vec::with_capacity(text.len() + 2);
    for line in text.split('\n') {
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::json_stream::JsonStream;

    /// A handler with one command that echoes its arguments.
    struct Echo;

    impl CommandHandler for Echo {
        fn command(&self, name: &str) -> Option<&'static CommandEntry> {
            const fn entry(name: &'static str, allow_oob: bool) -> CommandEntry {
                CommandEntry {
                    name,
                    allow_oob,
                    allow_preconfig: false,
                    features: &[],
                }
            }
            static ECHO: CommandEntry = entry("echo", false);
            static OOB_ECHO: CommandEntry = entry("oob-echo", true);
            [&ECHO, &OOB_ECHO].into_iter().find(|c| c.name == name)
        }

        fn dispatch(&mut self, _name: &str, args: Map<String, Value>) -> Result<Value, QmpError> {
            Ok(Value::Object(args))
        }
    }

    /// Feeds `input` to a session; returns what it sends back.
    fn converse(session: &mut QmpSession, input: &str) -> String {
        let mut stream = JsonStream::default();
        let mut items = Vec::new();
        stream.feed(input.as_bytes(), &mut items);
        let mut out = Vec::new();
        for item in items {
            out.extend(wire_bytes(&session.handle(item, &mut Echo), false));
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn negotiation_as_transcript1() {
        let mut s = QmpSession::default();
        assert_eq!(
            converse(&mut s, r#"{"execute":"echo","id":7}"#),
            "{\"id\": 7, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities negotiation with 'qmp_capabilities'\"}}\r\n"
        );
        assert_eq!(
            converse(&mut s, r#"{"execute":"qmp_capabilities","arguments":{"enable":["bogus"]}}"#),
            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'null' does not accept value 'bogus'\"}}\r\n"
        );
        assert!(!s.receives_events());
        assert_eq!(
            converse(&mut s, r#"{"execute":"qmp_capabilities","id":"neg"}"#),
            "{\"return\": {}, \"id\": \"neg\"}\r\n"
        );
        assert!(s.receives_events());
        assert_eq!(
            converse(&mut s, r#"{"execute":"qmp_capabilities"}"#),
            "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation is already complete, command ignored\"}}\r\n"
        );
        assert_eq!(
            converse(&mut s, r#"{"exec-oob":"echo","id":9}"#),
            "{\"id\": 9, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'exec-oob' is unexpected\"}}\r\n"
        );
    }

    #[test]
    fn envelope_errors() {
        let mut s = QmpSession::default();
        converse(&mut s, r#"{"execute":"qmp_capabilities"}"#);
        let cases = [
            (
                r#"{"execute":"nope","id":2}"#,
                r#"{"id": 2, "error": {"class": "CommandNotFound", "desc": "The command nope has not been found"}}"#,
            ),
            (
                r#"{"execute":"echo","id":3,"extra":1}"#,
                r#"{"id": 3, "error": {"class": "GenericError", "desc": "QMP input member 'extra' is unexpected"}}"#,
            ),
            (
                r#"{"id":4}"#,
                r#"{"id": 4, "error": {"class": "GenericError", "desc": "QMP input lacks member 'execute'"}}"#,
            ),
            (
                "[1,2]",
                r#"{"error": {"class": "GenericError", "desc": "QMP input must be a JSON object"}}"#,
            ),
            (
                r#"{"execute":5,"id":5}"#,
                r#"{"id": 5, "error": {"class": "GenericError", "desc": "QMP input member 'execute' must be a string"}}"#,
            ),
            (
                r#"{"execute":"echo","arguments":[],"id":6}"#,
                r#"{"id": 6, "error": {"class": "GenericError", "desc": "QMP input member 'arguments' must be an object"}}"#,
            ),
            (
                r#"{"execute":"echo","arguments":{"x":1},"id":{"a":[1,2]}}"#,
                r#"{"return": {"x": 1}, "id": {"a": [1, 2]}}"#,
            ),
            (
                "{ \"execute\": }",
                r#"{"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}}"#,
            ),
        ];
        for (input, reply) in cases {
            assert_eq!(converse(&mut s, input), format!("{reply}\r\n"), "{input}");
        }
    }

    #[test]
    fn out_of_band_as_transcript2() {
        let mut s = QmpSession::default();
        assert_eq!(
            converse(
                &mut s,
                r#"{"execute":"qmp_capabilities","arguments":{"enable":["oob"]},"id":0}"#
            ),
            "{\"return\": {}, \"id\": 0}\r\n"
        );
        assert_eq!(
            converse(&mut s, r#"{"exec-oob":"echo","id":1}"#),
            "{\"id\": 1, \"error\": {\"class\": \"GenericError\", \"desc\": \"The command echo does not support OOB\"}}\r\n"
        );
        assert_eq!(
            converse(&mut s, r#"{"exec-oob":"oob-echo"}"#),
            "{\"return\": {}}\r\n"
        );
        assert_eq!(
            converse(&mut s, r#"{"exec-oob":"x-oob-test","id":3}"#),
            "{\"id\": 3, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command x-oob-test has not been found\"}}\r\n"
        );
    }

    #[test]
    fn capability_argument_errors_as_qemu() {
        let mut s = QmpSession::default();
        assert_eq!(
            converse(&mut s, r#"{"execute":"qmp_capabilities","arguments":{"enable":"oob"}}"#),
            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter type for 'enable', expected: array\"}}\r\n"
        );
        assert_eq!(
            converse(&mut s, r#"{"execute":"qmp_capabilities","arguments":{"enable":[1]}}"#),
            "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter type for 'enable[0]', expected: string\"}}\r\n"
        );
    }

    #[test]
    fn pretty_messages_end_every_line_in_crlf() {
        assert_eq!(
            wire_bytes(&json!({"return": {}}), true),
            b"{\r\n    \"return\": {\r\n    }\r\n}\r\n"
        );
    }
}
