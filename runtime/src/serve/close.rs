//! Why the port, not the client, closes a connection: the reasons, their log wording and their
//! metric labels.

/// Why a connection is closed by the port rather than by its client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Close {
    Handshake = 1,
    Header = 2,
    Idle = 3,
    /// At the connection cap, the least recently active idle connections make room.
    Shed = 4,
    /// The port stops: in-flight requests finish within the shutdown timeout.
    Drain = 5,
}

impl Close {
    pub(crate) const ALL: [Close; 5] = [
        Close::Handshake,
        Close::Header,
        Close::Idle,
        Close::Shed,
        Close::Drain,
    ];

    pub(crate) fn from_u8(value: u8) -> Option<Close> {
        Close::ALL.into_iter().find(|close| *close as u8 == value)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Close::Handshake => "handshake timeout",
            Close::Header => "header timeout",
            Close::Idle => "idle timeout",
            Close::Shed => "shed at the connection cap",
            Close::Drain => "shutting down",
        }
    }

    /// The metric label of the reason.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Close::Handshake => "handshake_timeout",
            Close::Header => "header_timeout",
            Close::Idle => "idle_timeout",
            Close::Shed => "shed",
            Close::Drain => "shutdown",
        }
    }
}
