//! Image membership: a project the owner shared a `shared` image with.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDateTime;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberStatus {
    Pending,
    Accepted,
    Rejected,
}

impl MemberStatus {
    pub const ALL: &'static [MemberStatus] = &[
        MemberStatus::Pending,
        MemberStatus::Accepted,
        MemberStatus::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Pending => "pending",
            MemberStatus::Accepted => "accepted",
            MemberStatus::Rejected => "rejected",
        }
    }

    /// Parse a status sent to `PUT .../members/{m}` with Glance's message.
    pub fn parse_update(s: &str) -> Result<Self, Error> {
        s.parse().map_err(|()| {
            Error::bad_request(
                "Incorrect request: Status must be \"pending\", \"accepted\" or \"rejected\".",
            )
        })
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MemberStatus {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "pending" => Ok(MemberStatus::Pending),
            "accepted" => Ok(MemberStatus::Accepted),
            "rejected" => Ok(MemberStatus::Rejected),
            _ => Err(()),
        }
    }
}

/// One member row as the API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub image_id: String,
    pub member_id: String,
    pub status: MemberStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The sharing extensions' data (`os_glint`), with them enabled; `None` otherwise.
    pub ext: Option<crate::domain::member_ext::MemberExt>,
}

/// The longest member id glint stores (Glance's column is String(255)).
pub const MAX_MEMBER_ID_LEN: usize = 255;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_status() {
        for s in MemberStatus::ALL {
            assert_eq!(MemberStatus::parse_update(s.as_str()), Ok(*s));
        }
        assert!(MemberStatus::parse_update("Accepted").is_err());
        assert!(MemberStatus::parse_update("notavalidstatus").is_err());
    }
}
