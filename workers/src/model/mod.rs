//! The canonical claim and member records, money in integer cents, dates.

pub mod claim;
pub mod member;
pub mod money;
pub mod time;

pub use claim::{Claim, Cob, Code, Stream};
pub use member::MemberRow;
pub use money::Cents;
