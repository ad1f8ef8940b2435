//! The messages of the stream protocol besides events themselves, shared by the WebSocket
//! and SSE adapters. Every message is a JSON object with a `type`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::sessions::CloseReason;

/// Types the transports use for their own messages; events may not use them.
pub(crate) const RESERVED_TYPES: [&str; 7] = [
    "subscribed",
    "unsubscribed",
    "resync",
    "error",
    "HEARTBEAT",
    "PONG",
    "closed",
];

/// Start following `topic`; with `since`, first replay the events after that sequence id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeRequest {
    pub topic: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
}

impl SubscribeRequest {
    /// Follow `topic` from now on.
    pub fn live(topic: impl Into<String>) -> Self {
        Self {
            topic: topic.into(),
            since: None,
        }
    }
}

/// What a WebSocket client may send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClientMessage {
    /// `{ "type": "subscribe", "topic": "campaign:…", "since": 41 }`
    #[serde(rename = "subscribe")]
    Subscribe(SubscribeRequest),
    /// `{ "type": "unsubscribe", "topic": "campaign:…" }`
    #[serde(rename = "unsubscribe")]
    Unsubscribe { topic: String },
    /// `{ "type": "PING" }`, answered with `{ "type": "PONG" }`.
    #[serde(rename = "PING", alias = "ping")]
    Ping,
}

/// What the server sends besides events (which are `{ "type": <event type>, "seq", … }`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ControlMessage {
    /// The subscription is active; events after `seq` follow.
    #[serde(rename = "subscribed")]
    Subscribed { topic: String, seq: u64 },
    #[serde(rename = "unsubscribed")]
    Unsubscribed { topic: String },
    /// Events after the client's position were lost for it: reload the topic's state. The
    /// stream continues with the events after `seq`.
    #[serde(rename = "resync")]
    Resync { topic: String, seq: u64 },
    /// Sent every heartbeat interval.
    #[serde(rename = "HEARTBEAT")]
    Heartbeat { at: DateTime<Utc> },
    #[serde(rename = "PONG")]
    Pong,
    /// The last message: the server ends the connection, and says why (a WebSocket then
    /// closes with [`CloseReason::close_code`] and the same reason).
    #[serde(rename = "closed")]
    Closed { reason: CloseReason },
    /// A request could not be honoured; the connection stays open.
    #[serde(rename = "error")]
    Error {
        code: StreamErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
    },
}

impl ControlMessage {
    pub(crate) fn error(code: StreamErrorCode, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
            topic: None,
        }
    }

    pub(crate) fn topic_error(
        code: StreamErrorCode,
        message: impl Into<String>,
        topic: &str,
    ) -> Self {
        Self::Error {
            code,
            message: message.into(),
            topic: Some(topic.to_owned()),
        }
    }

    pub(crate) fn to_json(&self) -> String {
        // Plain fields always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a client request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamErrorCode {
    /// Not JSON, not a known message, or a binary frame.
    BadMessage,
    InvalidTopic,
    /// The product's authorization hook refused the topic.
    Forbidden,
    TooManyTopics,
    /// The shared store (Redis) did not answer; retry later.
    Unavailable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_from_their_documented_shape() {
        let sub: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","topic":"campaign:1","since":4}"#).unwrap();
        assert_eq!(
            sub,
            ClientMessage::Subscribe(SubscribeRequest {
                topic: "campaign:1".into(),
                since: Some(4)
            })
        );
        let live: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","topic":"a"}"#).unwrap();
        assert_eq!(live, ClientMessage::Subscribe(SubscribeRequest::live("a")));
        let ping: ClientMessage = serde_json::from_str(r#"{"type":"PING"}"#).unwrap();
        assert_eq!(ping, ClientMessage::Ping);
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"subscribe"}"#).is_err());
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"dance"}"#).is_err());
    }

    #[test]
    fn control_messages_serialise_with_their_type() {
        assert_eq!(ControlMessage::Pong.to_json(), r#"{"type":"PONG"}"#);
        assert_eq!(
            ControlMessage::Resync {
                topic: "a".into(),
                seq: 9
            }
            .to_json(),
            r#"{"type":"resync","topic":"a","seq":9}"#
        );
        assert_eq!(
            ControlMessage::Closed {
                reason: CloseReason::SessionRevoked
            }
            .to_json(),
            r#"{"type":"closed","reason":"session_revoked"}"#
        );
        assert_eq!(
            ControlMessage::error(StreamErrorCode::BadMessage, "nope").to_json(),
            r#"{"type":"error","code":"bad_message","message":"nope"}"#
        );
    }
}
