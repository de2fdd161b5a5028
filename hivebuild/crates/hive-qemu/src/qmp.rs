//! QEMU's machine protocol (QMP) on a Unix socket, as much of it as a paused guest needs: the
//! arguments that start one, the connection, and commands without arguments (`cont`,
//! `stop`). Used by the warm boots of `test boot-latency` and by the police's pool of paused
//! skills.

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::QemuError;

/// Where one guest's QMP socket goes: a folder of its own, so that guests can start in
/// parallel.
pub struct Socket {
    /// Removed, with the socket, when this goes.
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Socket {
    pub fn new() -> Result<Self, QemuError> {
        let dir = tempfile::Builder::new()
            .prefix("hive-qmp-")
            .tempdir()
            .map_err(|e| error(format!("no folder for the QMP socket: {e}")))?;
        let path = dir.path().join("qmp.sock");
        Ok(Self { _dir: dir, path })
    }

    /// QEMU's arguments for a guest that waits, paused, for `cont` on this socket.
    pub fn paused_args(&self) -> [String; 3] {
        [
            "-S".to_owned(),
            "-qmp".to_owned(),
            format!("unix:{},server=on,wait=off", self.path.display()),
        ]
    }

    /// Connect to QEMU on it (the socket appears shortly after QEMU starts: tried until
    /// `timeout`), read the greeting and enter command mode.
    pub fn connect(self, timeout: Duration) -> Result<Qmp, QemuError> {
        Qmp::connect(self, timeout)
    }
}

/// A QMP connection in command mode.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    _socket: Socket,
}

fn error(message: impl Into<String>) -> QemuError {
    QemuError::Qmp {
        message: message.into(),
    }
}

impl Qmp {
    fn connect(socket: Socket, timeout: Duration) -> Result<Self, QemuError> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match UnixStream::connect(&socket.path) {
                Ok(stream) => break stream,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(error(format!("QEMU's QMP socket did not open: {e}"))),
            }
        };
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| error(e.to_string()))?;
        let reader = BufReader::new(stream.try_clone().map_err(|e| error(e.to_string()))?);
        let mut qmp = Self {
            reader,
            writer: stream,
            _socket: socket,
        };
        qmp.reply()?; // the greeting
        qmp.execute("qmp_capabilities")?;
        Ok(qmp)
    }

    /// Run `command` and wait for its reply.
    pub fn execute(&mut self, command: &str) -> Result<(), QemuError> {
        self.send(command)?;
        let reply = self.reply()?;
        if reply.contains("\"return\"") {
            Ok(())
        } else {
            Err(error(format!("`{command}` failed: {}", reply.trim())))
        }
    }

    /// Run a monitor command line (QMP's `human-monitor-command`): what it printed, which is
    /// where the monitor's commands say they failed.
    pub fn human(&mut self, command_line: &str) -> Result<String, QemuError> {
        let request = serde_json::json!({
            "execute": "human-monitor-command",
            "arguments": { "command-line": command_line },
        });
        self.writer
            .write_all(format!("{request}\n").as_bytes())
            .map_err(|e| error(e.to_string()))?;
        let reply = self.reply()?;
        let parsed: serde_json::Value =
            serde_json::from_str(&reply).map_err(|e| error(format!("`{command_line}`: {e}")))?;
        match parsed.get("return").and_then(serde_json::Value::as_str) {
            Some(printed) => Ok(printed.trim().to_owned()),
            None => Err(error(format!("`{command_line}` failed: {}", reply.trim()))),
        }
    }

    /// Send `command` and return at once: its effect is what the caller waits for (a warm
    /// boot times `cont` to the guest's marker).
    pub fn send(&mut self, command: &str) -> Result<(), QemuError> {
        self.writer
            .write_all(format!("{{\"execute\":\"{command}\"}}\n").as_bytes())
            .map_err(|e| error(e.to_string()))
    }

    /// The next line that is not an asynchronous event: the greeting or a command's reply.
    fn reply(&mut self) -> Result<String, QemuError> {
        let mut line = String::new();
        loop {
            line.clear();
            if self
                .reader
                .read_line(&mut line)
                .map_err(|e| error(e.to_string()))?
                == 0
            {
                return Err(error("QMP closed"));
            }
            if !line.contains("\"event\"") {
                return Ok(line);
            }
        }
    }
}
