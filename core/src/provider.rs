//! The SMS provider seam: the [`Provider`] trait the engine sends through and the in-memory
//! [`RecordingProvider`] the simulator, the tests and `serve` use. Its own module so that the
//! engine depends on it and not on `messaging` (which depends on the engine).

use std::sync::Mutex;

/// What the SMS provider said about one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReceipt {
    pub sid: String,
    pub error: Option<ProviderError>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub code: i64,
    /// Free text from the provider; real providers quote the recipient's number here.
    pub message: String,
}

/// Where outbound messages go. Implementations must be deterministic under the simulator.
pub trait Provider: Send + Sync + 'static {
    fn send(&self, from: &str, to: &str, body: &str) -> ProviderReceipt;
}

/// An in-memory provider: records every send and answers with sequential sids. The simulator and
/// tests use it; `serve` uses it too (no real carrier is wired in).
#[derive(Debug, Default)]
pub struct RecordingProvider {
    sent: Mutex<Vec<SentMessage>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub from: String,
    pub to: String,
    pub body: String,
}

impl RecordingProvider {
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
