//! Write: the only code that changes the cluster — the status patch and Events.

pub mod events;
pub mod status;
pub mod violation_events;
