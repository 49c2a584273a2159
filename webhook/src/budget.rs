//! The byte budget of review bodies: every body being read, decoded and judged holds a share of
//! one budget for the memory its bytes take, from its first byte to its answer. Concurrent large
//! reviews then wait for each other instead of growing the process past its memory limit, while
//! a slow client holds only the bytes it has actually sent (a body is charged as it arrives, not
//! by its Content-Length), so slow readers cannot starve fast ones.

use tokio::sync::{Semaphore, SemaphorePermit};

/// The budget is counted in KiB, so that a budget of up to 4 TiB fits the semaphore's permits.
const UNIT: usize = 1024;

/// Default budget: 8 bodies at the default 4 MiB cap, or thousands of ordinary reviews (a few
/// KiB each). See docs/reliability.md (The webhook's edge) for how it bounds memory.
pub const DEFAULT_BODY_BUDGET: usize = 32 * 1024 * 1024;

/// Bytes of request bodies in memory at once, shared by every review.
#[derive(Debug)]
pub struct BodyBudget {
    units: Semaphore,
    total_units: u32,
}

/// A body's share of the budget, returned when dropped.
#[derive(Debug, Default)]
pub struct Reserved<'a> {
    permit: Option<SemaphorePermit<'a>>,
    units: u32,
}

impl Reserved<'_> {
    /// Bytes this share covers.
    pub fn bytes(&self) -> usize {
        usize::try_from(self.units).unwrap_or(usize::MAX) * UNIT
    }
}

/// The budget was closed (the process is stopping).
#[derive(Debug, thiserror::Error)]
#[error("the body budget is closed")]
pub struct Closed;

impl BodyBudget {
    /// A budget of `bytes` (at least one KiB).
    pub fn new(bytes: usize) -> Self {
        let units = (bytes / UNIT).clamp(1, Semaphore::MAX_PERMITS);
        let total_units = u32::try_from(units).unwrap_or(u32::MAX);
        BodyBudget {
            units: Semaphore::new(usize::try_from(total_units).unwrap_or(1)),
            total_units,
        }
    }

    /// Bytes not reserved by any body right now.
    pub fn available(&self) -> usize {
        self.units.available_permits() * UNIT
    }

    /// Grows `held` to cover `bytes`, waiting (in arrival order) for other bodies to return
    /// theirs. A body larger than the whole budget is charged the whole budget, so that it is
    /// read alone rather than never.
    pub async fn cover<'a>(&'a self, held: &mut Reserved<'a>, bytes: usize) -> Result<(), Closed> {
        let wanted = u32::try_from(bytes.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .min(self.total_units);
        if wanted <= held.units {
            return Ok(());
        }
        let more = self
            .units
            .acquire_many(wanted - held.units)
            .await
            .map_err(|_| Closed)?;
        match held.permit.as_mut() {
            Some(permit) => permit.merge(more),
            None => held.permit = Some(more),
        }
        held.units = wanted;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn bodies_wait_for_each_other_and_return_their_share_when_done() {
        let budget = BodyBudget::new(10 * UNIT);
        let mut first = Reserved::default();
        budget.cover(&mut first, 3 * UNIT + 1).await.unwrap();
        assert_eq!(first.bytes(), 4 * UNIT);
        budget.cover(&mut first, 100).await.unwrap();
        assert_eq!(first.bytes(), 4 * UNIT, "never shrinks while held");
        budget.cover(&mut first, 6 * UNIT).await.unwrap();
        assert_eq!(budget.available(), 4 * UNIT);

        let mut second = Reserved::default();
        let waits = tokio::time::timeout(
            Duration::from_millis(50),
            budget.cover(&mut second, 5 * UNIT),
        )
        .await;
        assert!(waits.is_err(), "over the budget: waits");
        drop(first);
        let mut third = Reserved::default();
        budget.cover(&mut third, 5 * UNIT).await.unwrap();
        assert_eq!(budget.available(), 5 * UNIT);
    }

    #[tokio::test]
    async fn a_body_larger_than_the_budget_takes_all_of_it() {
        let budget = BodyBudget::new(4 * UNIT);
        let mut held = Reserved::default();
        budget.cover(&mut held, 100 * UNIT).await.unwrap();
        assert_eq!((held.bytes(), budget.available()), (4 * UNIT, 0));
        assert_eq!(BodyBudget::new(0).available(), UNIT);
    }
}
