//! A human monitor on a chardev: the banner for each client, the
//! prompt, the line editor's echo, and the commands' output.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use hw::core::chardev::{CharBackend, CharEvent, CharFrontend};

use super::readline::ReadLine;
use super::{banner, Hmp, PROMPT};
use crate::chardev::{ChardevSet, ConnectError};
use crate::monitor::commands::QmpContext;

enum Incoming {
    Opened,
    Bytes(Vec<u8>),
}

type SharedInput = Arc<Mutex<VecDeque<Incoming>>>;

fn lock(input: &SharedInput) -> MutexGuard<'_, VecDeque<Incoming>> {
    input.lock().unwrap_or_else(|p| p.into_inner())
}

/// The chardev side: queues input for the main loop.
struct TerminalFrontend {
    input: SharedInput,
}

impl CharFrontend for TerminalFrontend {
    fn can_receive(&self) -> usize {
        usize::MAX
    }

    fn receive(&mut self, data: &[u8]) {
        lock(&self.input).push_back(Incoming::Bytes(data.to_vec()));
    }

    fn event(&mut self, event: CharEvent) {
        if event == CharEvent::Opened {
            lock(&self.input).push_back(Incoming::Opened);
        }
    }
}

/// One `-monitor`/`mode=readline` monitor.
pub struct HmpMonitor {
    input: SharedInput,
    output: Arc<dyn CharBackend>,
    readline: ReadLine,
}

impl HmpMonitor {
    /// A monitor on chardev `id`.
    pub fn connect(chardevs: &mut ChardevSet, id: &str) -> Result<Self, ConnectError> {
        let input = SharedInput::default();
        let mut output = None;
        chardevs.connect_new_frontend(id, |backend| {
            output = Some(backend.clone());
            TerminalFrontend {
                input: input.clone(),
            }
        })?;
        let output = output.ok_or_else(|| ConnectError::NotFound(id.to_string()))?;
        Ok(HmpMonitor {
            input,
            output,
            readline: ReadLine::default(),
        })
    }

    fn prompt(&mut self) {
        self.output.write_all(PROMPT.as_bytes());
        self.readline.prompt_shown();
    }

    /// Handles what arrived: greets new clients, echoes, runs each line
    /// entered. Stops early once a command ended the process.
    pub fn process(&mut self, ctx: &mut QmpContext) {
        loop {
            let Some(incoming) = lock(&self.input).pop_front() else {
                return;
            };
            match incoming {
                Incoming::Opened => {
                    self.output.write_all(banner().as_bytes());
                    self.readline.restart();
                    self.prompt();
                }
                Incoming::Bytes(bytes) => {
                    for &byte in &bytes {
                        let mut echo = Vec::new();
                        let line = self.readline.feed(byte, &mut echo);
                        self.output.write_all(&crlf_bytes(&echo));
                        let Some(line) = line else {
                            continue;
                        };
                        let output = Hmp::new(ctx, 0).run_line(&line);
                        self.output.write_all(output.as_bytes());
                        if ctx.machine.exit_status().is_some() {
                            return;
                        }
                        self.prompt();
                    }
                }
            }
        }
    }
}

fn crlf_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}
