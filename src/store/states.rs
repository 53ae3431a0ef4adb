//! The typed states of a stored message and of a reply, as the store writes and reads them.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// Defines a state enum stored as its lowercase name.
macro_rules! text_state {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every state, in the order of the definition.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The name stored in SQLite and shown to users.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} `{other}` (known: {})",
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value.as_str()?.parse().map_err(|e: String| FromSqlError::Other(e.into()))
            }
        }
    };
}

text_state! {
    /// Where a stored message is in the pipeline.
    MessageState {
        /// Stored, not judged yet (or to be judged again).
        Stored = "stored",
        /// Judged: it has a verdict.
        Judged = "judged",
        /// Judging failed; the reason is kept and the message can be re-run.
        Failed = "failed",
    }
}

text_state! {
    /// Where a reply is in the outbox.
    ReplyState {
        /// Waiting to be sent (at `next_attempt_at`).
        Pending = "pending",
        /// Handed to the transport; whether it left is known once the provider answers.
        Sending = "sending",
        /// Accepted by the provider.
        Sent = "sent",
        /// Given up after the retries.
        Failed = "failed",
        /// Not sent, on purpose (policy or an admin); the reason is kept.
        Suppressed = "suppressed",
        /// The recipient's server sent it back.
        Bounced = "bounced",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_sqlite_and_refuse_unknown_names() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        for s in ReplyState::ALL {
            let back: ReplyState = c.query_row("SELECT ?1", [s], |r| r.get(0)).unwrap();
            assert_eq!(back, *s);
        }
        let back: MessageState = c.query_row("SELECT 'judged'", [], |r| r.get(0)).unwrap();
        assert_eq!(back, MessageState::Judged);
        assert!(c.query_row("SELECT 'lost'", [], |r| r.get::<_, MessageState>(0)).is_err());
        assert_eq!("sent".parse::<ReplyState>(), Ok(ReplyState::Sent));
    }
}
