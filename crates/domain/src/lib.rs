#![forbid(unsafe_code)]
//! Joint Panel's rules, free of I/O: the words of the panel's world as types
//! that can only hold valid values (parse, don't validate).

pub mod apportion;
pub mod calendar;
pub mod costs;
pub mod decision;
pub mod email;
pub mod ical;
pub mod identifiers;
pub mod lifecycle;
pub mod meeting_lifecycle;
pub mod money;
pub mod panel_rules;
pub mod password;
pub mod referral_form;
pub mod role;
pub mod session;
pub mod sheet;
pub mod text;

pub use email::Email;
pub use money::Pence;
pub use panel_rules::{Cadence, PanelRules, Region};
pub use password::{Password, PasswordProblem};
pub use role::Role;
