//! The SMS provider seam: the [`Provider`] trait the engine sends through and the in-memory
//! [`RecordingProvider`] the simulator, the tests and `serve` use. Its own module so that the
//! engine's plumbing depends on it and not on `messaging`.

use std::sync::Mutex;

/// What the SMS provider said about one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReceipt {
    /// The provider's message id (`SMout1`); empty when the send failed.
    pub sid: String,
    /// Why the send failed; `None` when it was accepted.
    pub error: Option<ProviderError>,
}

/// A provider's refusal of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    /// The provider's error code (30003: unreachable handset).
    pub code: i64,
    /// Free text from the provider; real providers quote the recipient's number here.
    pub message: String,
}

/// Where outbound messages go. Implementations must be deterministic under the simulator.
pub trait Provider: Send + Sync + 'static {
    /// Sends `body` from business number `from` to `to` (both E.164).
    fn send(&self, from: &str, to: &str, body: &str) -> ProviderReceipt;
}

/// An in-memory provider: records every send and answers with sequential sids. The simulator and
/// tests use it; `serve` uses it too (no real carrier is wired in).
#[derive(Debug, Default)]
pub struct RecordingProvider {
    sent: Mutex<Vec<SentMessage>>,
}

/// One send the [`RecordingProvider`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The business number it went from (E.164).
    pub from: String,
    /// The recipient (E.164).
    pub to: String,
    /// The text.
    pub body: String,
}

impl RecordingProvider {
    /// Every send so far, in order (a chaos duplicate appears twice).
    pub fn sent(&self) -> Vec<SentMessage> {
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Provider for RecordingProvider {
    fn send(&self, from: &str, to: &str, body: &str) -> ProviderReceipt {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.push(SentMessage {
            from: from.into(),
            to: to.into(),
            body: body.into(),
        });
        ProviderReceipt {
            sid: format!("SMout{}", sent.len()),
            error: None,
        }
    }
}
