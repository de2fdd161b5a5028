//! The host's end of a Unikraft skill's channel to the Brain: QEMU connects the skill's
//! serial line (`hive/channel.h` in the skill runtime) to a Unix socket listened on here, and
//! messages cross it framed by the Brain's own protocol module. hivebuild plays the Brain
//! with it when it tests a skill.

use std::io::{Read as _, Write as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use brain::protocol::{Deframer, FrameError, Message};

/// Where a skill's channel goes in a boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelEnd {
    /// Nowhere (`-chardev null`): boots that only watch the console.
    Null,
    /// A Unix socket QEMU connects to at start; something must listen there.
    Socket(PathBuf),
}

impl ChannelEnd {
    /// QEMU's `-chardev` for it, with id `brain`.
    pub fn chardev(&self) -> String {
        match self {
            Self::Null => "null,id=brain".to_owned(),
            Self::Socket(path) => format!("socket,id=brain,path={}", path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("the skill's channel: {0}")]
    Io(#[from] std::io::Error),
    #[error("the skill did not connect its channel within {0:?}")]
    NoConnection(Duration),
    #[error("no message from the skill within {0:?}")]
    Timeout(Duration),
    #[error("the skill closed its channel")]
    Closed,
    #[error("the skill's channel carried a bad frame: {0:?}")]
    Frame(FrameError),
}

/// A listening socket for one skill's channel, then the connection QEMU made to it.
pub struct BrainChannel {
    _dir: tempfile::TempDir,
    path: PathBuf,
    listener: UnixListener,
    stream: Option<UnixStream>,
    deframer: Deframer,
}

impl BrainChannel {
    /// Listen on a socket in a fresh private folder.
    pub fn listen() -> Result<Self, ChannelError> {
        let dir = tempfile::Builder::new().prefix("hive-channel").tempdir()?;
        let path = dir.path().join("brain.sock");
        let listener = UnixListener::bind(&path)?;
        listener.set_nonblocking(true)?;
        Ok(Self {
            _dir: dir,
            path,
            listener,
            stream: None,
            deframer: Deframer::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The end to give the skill's boot.
    pub fn end(&self) -> ChannelEnd {
        ChannelEnd::Socket(self.path.clone())
    }

    fn stream(&mut self, timeout: Duration) -> Result<&mut UnixStream, ChannelError> {
        if self.stream.is_none() {
            let deadline = Instant::now() + timeout;
            let stream = loop {
                match self.listener.accept() {
                    Ok((stream, _)) => break stream,
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                        if Instant::now() >= deadline {
                            return Err(ChannelError::NoConnection(timeout));
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(error) => return Err(error.into()),
                }
            };
            stream.set_nonblocking(false)?;
            self.stream = Some(stream);
        }
        Ok(self.stream.as_mut().expect("connected above"))
    }

    /// Send one message (waiting up to `timeout` for QEMU to connect).
    pub fn send(&mut self, message: &Message, timeout: Duration) -> Result<(), ChannelError> {
        let frame = message.frame().map_err(ChannelError::Frame)?;
        let stream = self.stream(timeout)?;
        stream.set_write_timeout(Some(timeout))?;
        stream.write_all(&frame)?;
        Ok(())
    }

    /// The next message from the skill, within `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Result<Message, ChannelError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(message) = self.deframer.next_message() {
                return message.map_err(ChannelError::Frame);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ChannelError::Timeout(timeout));
            }
            let stream = self.stream(left)?;
            stream.set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            let mut buffer = [0_u8; 4096];
            match stream.read(&mut buffer) {
                Ok(0) => return Err(ChannelError::Closed),
                Ok(read) => self.deframer.push(&buffer[..read]),
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for QEMU's end: connect, answer a ping.
    #[test]
    fn messages_cross_the_socket_framed() {
        let mut channel = BrainChannel::listen().unwrap();
        let path = channel.path().to_owned();
        let skill = std::thread::spawn(move || {
            let mut stream = UnixStream::connect(path).unwrap();
            stream.write_all(&Message::Ready.frame().unwrap()).unwrap();
            let mut deframer = Deframer::new();
            let mut buffer = [0_u8; 64];
            loop {
                let read = stream.read(&mut buffer).unwrap();
                deframer.push(&buffer[..read]);
                if let Some(Ok(Message::Ping(n))) = deframer.next_message() {
                    stream
                        .write_all(&Message::Pong(n).frame().unwrap())
                        .unwrap();
                    break;
                }
            }
        });
        let second = Duration::from_secs(5);
        assert_eq!(channel.recv(second).unwrap(), Message::Ready);
        channel.send(&Message::Ping(9), second).unwrap();
        assert_eq!(channel.recv(second).unwrap(), Message::Pong(9));
        skill.join().unwrap();
        assert!(matches!(
            channel.recv(Duration::from_millis(100)),
            Err(ChannelError::Closed)
        ));
        assert_eq!(
            ChannelEnd::Null.chardev(),
            "null,id=brain",
            "boots that only watch the console"
        );
    }

    #[test]
    fn a_skill_that_never_connects_is_an_error_in_bounded_time() {
        let mut channel = BrainChannel::listen().unwrap();
        let started = Instant::now();
        let error = channel.recv(Duration::from_millis(200)).unwrap_err();
        assert!(matches!(error, ChannelError::NoConnection(_)), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
