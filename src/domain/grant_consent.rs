//! Where a recipient project stands on a grant (`domain::grant`), from the statuses of the
//! member rows the grant made for it: what the web page shows next to each received grant.

use crate::domain::member::MemberStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// At least one image still awaits the project's decision.
    Awaiting,
    Accepted,
    Rejected,
    /// Some images accepted, others rejected.
    Mixed,
    /// No row (the images were unshared, deleted, or the project's trust policy refused them).
    Nothing,
}

impl Consent {
    pub fn of(statuses: &[MemberStatus]) -> Consent {
        let all = |s: MemberStatus| statuses.iter().all(|x| *x == s);
        match statuses {
            [] => Consent::Nothing,
            _ if statuses.contains(&MemberStatus::Pending) => Consent::Awaiting,
            _ if all(MemberStatus::Accepted) => Consent::Accepted,
            _ if all(MemberStatus::Rejected) => Consent::Rejected,
            _ => Consent::Mixed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Consent::Awaiting => "pending",
            Consent::Accepted => "accepted",
            Consent::Rejected => "rejected",
            Consent::Mixed => "mixed",
            Consent::Nothing => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberStatus::{Accepted as A, Pending as P, Rejected as R};

    #[test]
    fn consent_from_the_rows() {
        for (rows, want) in [
            (vec![], Consent::Nothing),
            (vec![P], Consent::Awaiting),
            (vec![A, P, R], Consent::Awaiting),
            (vec![A, A], Consent::Accepted),
            (vec![R], Consent::Rejected),
            (vec![A, R], Consent::Mixed),
        ] {
            assert_eq!(Consent::of(&rows), want, "{rows:?}");
        }
        assert_eq!(Consent::Awaiting.as_str(), "pending");
    }
}
