//! The flow of `POST /validate` around the decision: content type, body cap, the body read in
//! full under its own deadline and the shared byte budget BEFORE a review slot is taken (a slow
//! client holds no slot), bounded concurrency, the per-request timeout, one parse of the body,
//! the judgement (waiting for a namespace the caches have not seen yet), then the record of it. Refusals are `Refusal`'s;
//! counting and logging a judged review is `record`'s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Buf;
use futures::Stream;
use http::{HeaderMap, header};
use tokio::sync::Semaphore;

use crate::budget::{BodyBudget, DEFAULT_BODY_BUDGET};
use crate::decide::{Decision, Exemptions, Judgement, Review};
use crate::envelope::{self, GroupVersionResourceIn, RequestIn, ReviewIn, Seen};
use crate::judge::judge;
use crate::kinds::Judged;
use crate::metrics::{InFlight, Metrics};
use crate::record::{self, Reviewed};
use crate::refusal::Refusal;
use crate::review;
use crate::snapshot::{Scope, SnapshotCell};
use crate::wire::{BodyDeadlines, BodyError, HttpAnswer, json, read_body, within};
use hipaa_controls::object::{ObjectKind, Operation};

/// The default cap on a review body (the API server sends at most about 3 MiB).
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Limits of the review path.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Reviews processed at once (after their body has arrived); more wait for a slot within
    /// their timeout.
    pub max_concurrency: usize,
    /// From arrival to answer, reading the body and waiting for a slot included.
    pub request_timeout: Duration,
    /// From arrival to the body's last byte (within `request_timeout`): a slow client gets a 408
    /// then, having held no review slot.
    pub body_timeout: Duration,
    pub body_limit: usize,
    /// Bytes of bodies in memory at once, across all reviews (at least `body_limit`).
    pub body_budget: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_concurrency: 64,
            request_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(3),
            body_limit: DEFAULT_BODY_LIMIT,
            body_budget: DEFAULT_BODY_BUDGET,
        }
    }
}

/// The webhook: everything a review needs, shared by every connection.
#[derive(Debug)]
pub struct Webhook {
    pub snapshots: Arc<SnapshotCell>,
    pub exemptions: Exemptions,
    pub metrics: Arc<Metrics>,
    limits: Limits,
    slots: Semaphore,
    budget: BodyBudget,
}

impl Webhook {
    pub fn new(
        snapshots: Arc<SnapshotCell>,
        exemptions: Exemptions,
        metrics: Arc<Metrics>,
        limits: Limits,
    ) -> Self {
        let slots = Semaphore::new(limits.max_concurrency.max(1));
        let budget = BodyBudget::new(limits.body_budget.max(limits.body_limit));
        Webhook {
            snapshots,
            exemptions,
            metrics,
            limits,
            slots,
            budget,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Answers `POST /validate`. Never panics on input; every refusal is a clear 4xx/5xx.
    pub async fn handle<S, B>(&self, headers: &HeaderMap, body: S) -> HttpAnswer
    where
        S: Stream<Item = Result<B, warp::Error>>,
        B: Buf,
    {
        let started = Instant::now();
        if let Err(refusal) = self.check_headers(headers) {
            return refusal.answer(&self.metrics);
        }
        let arrived = tokio::time::Instant::from_std(started);
        let deadline = arrived + self.limits.request_timeout;
        let body_timeout = self.limits.body_timeout.min(self.limits.request_timeout);
        let deadlines = BodyDeadlines {
            arrival: arrived + body_timeout,
            request: deadline,
        };
        let answer = async {
            let size_hint = content_length(headers).unwrap_or(0);
            let limit = self.limits.body_limit;
            let read = read_body(body, limit, size_hint, &self.budget, deadlines).await;
            let (bytes, _share) = read.map_err(|error| match error {
                BodyError::TooSlow => Refusal::BodyTimeout {
                    timeout: body_timeout,
                },
                other => Refusal::from(other),
            })?;
            within(deadline, self.admit(&bytes, started))
                .await
                .unwrap_or(Err(Refusal::Timeout))
        }
        .await;
        self.metrics
            .review_duration
            .observe(started.elapsed().as_secs_f64());
        answer.unwrap_or_else(|refusal| refusal.answer(&self.metrics))
    }

    fn check_headers(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(Refusal::ContentType);
        }
        let limit = self.limits.body_limit;
        if content_length(headers).is_some_and(|len| len > limit) {
            return Err(Refusal::BodyTooLarge { limit });
        }
        Ok(())
    }

    /// Judges a body that has arrived, once a review slot is free.
    async fn admit(&self, bytes: &[u8], started: Instant) -> Result<HttpAnswer, Refusal> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| Refusal::ShuttingDown)?;
        // Counted until this future ends, also when it is dropped (timeout, client gone).
        let _in_flight = InFlight::new(&self.metrics.in_flight);
        let envelope = self.decode(bytes).map_err(Refusal::NotAReview)?;
        if envelope.api_version.as_deref() != Some(review::API_VERSION)
            || envelope.kind.as_deref() != Some(review::KIND)
        {
            return Err(Refusal::WrongApiVersion);
        }
        let request = envelope.request.ok_or(Refusal::NoRequest)?;
        let operation =
            Operation::parse(&request.operation).ok_or_else(|| Refusal::UnknownOperation {
                uid: request.uid.to_string(),
                operation: request.operation.to_string(),
            })?;
        let sub_resource = request.sub_resource.as_deref().unwrap_or("");
        let kind = Judged::admitted(
            &request.kind.group,
            &request.kind.version,
            &request.kind.kind,
        )
        .or_else(|| written_through_subresource(&request, sub_resource));
        let review = Review {
            kind,
            operation,
            namespace: request.namespace.as_deref().unwrap_or(""),
            name: request.name.as_deref().unwrap_or(""),
            sub_resource,
            object: request.object.as_ref(),
            old_object: request.old_object,
        };
        let judgement = self.judge_waiting_for_namespace(&review, started).await;
        let dry_run = request.dry_run.unwrap_or(false);
        record::record(
            &self.metrics,
            &Reviewed {
                uid: &request.uid,
                requested_kind: &request.kind.kind,
                review: &review,
                dry_run,
            },
            &judgement,
        );
        Ok(json(review::render(&request.uid, &judgement.answer)))
    }

    /// Decodes the review in one pass, parsing the object right away when the review is going to
    /// be judged (a judged kind and operation in a namespace a policy selects). When that parse
    /// fails, decodes again keeping the object raw, so that the answer can carry the review's uid
    /// and the reason.
    fn decode<'b>(&self, bytes: &'b [u8]) -> Result<ReviewIn<'b>, serde_json::Error> {
        let decoded = {
            let snapshot = self.snapshots.load();
            let parse_now = |seen: &Seen<'_>| {
                let kind =
                    ObjectKind::admitted(&seen.kind.group, &seen.kind.version, &seen.kind.kind)?;
                // Parsed now when judged on the new object: written, not deleted, in a namespace
                // (a Namespace review is judged on its own labels, not on a namespace's scope).
                let judged = kind.info().namespaced
                    && Operation::parse(seen.operation).is_some_and(|operation| {
                        operation != Operation::Delete
                            && kind.info().admission.judges(operation, seen.sub_resource)
                    })
                    && snapshot.synced
                    && !self.exemptions.contains(seen.namespace)
                    && matches!(snapshot.scope(seen.namespace), Scope::Selected(_));
                judged.then_some(kind)
            };
            envelope::decode(bytes, &parse_now)
        };
        decoded.or_else(|_| envelope::decode(bytes, &envelope::keep_raw))
    }

    /// Judges; when the caches do not know the namespace yet (it was just created), or the role a
    /// binding refers to, waits for the next snapshots, up to half the request timeout, before
    /// giving a retryable denial.
    async fn judge_waiting_for_namespace(
        &self,
        review: &Review<'_>,
        started: Instant,
    ) -> Judgement {
        let mut updates: Option<tokio::sync::watch::Receiver<u64>> = None;
        let give_up = started + self.limits.request_timeout / 2;
        loop {
            let judgement = {
                let snapshot = self.snapshots.load();
                let judgement = judge(review, &snapshot, &self.exemptions, chrono::Utc::now());
                if judgement.decision != Decision::NotReady || !snapshot.synced {
                    return judgement;
                }
                judgement
            };
            let Some(receiver) = updates.as_mut() else {
                // Subscribe only on this rare path, then judge once more: a snapshot published
                // between the first judgement and the subscription is not missed.
                updates = Some(self.snapshots.subscribe());
                continue;
            };
            let now = Instant::now();
            if now >= give_up {
                return judgement;
            }
            match tokio::time::timeout(give_up - now, receiver.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) | Err(_) => return judgement,
            }
        }
    }
}

/// The judged kind whose subresource a review writes when the review names another kind (a
/// `scale` write names `autoscaling/v1` `Scale`): read from the resource the request writes. Only
/// reviews of a subresource of a kind the webhook does not judge itself get here, so the
/// resource is parsed on no review of a judged kind.
fn written_through_subresource(request: &RequestIn<'_>, sub_resource: &str) -> Option<Judged> {
    if sub_resource.is_empty() {
        return None;
    }
    let resource = GroupVersionResourceIn::parse(request.resource?).ok()?;
    ObjectKind::admitted_subresource(
        &resource.group,
        &resource.version,
        &resource.resource,
        sub_resource,
    )
    .map(Judged::Object)
}

/// The declared `Content-Length`, if it is a number.
fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_done_in_its_first_poll_is_answered_without_a_timer() {
        let passed = tokio::time::Instant::now() - Duration::from_secs(1);
        assert_eq!(within(passed, async { 7 }).await, Some(7));
    }

    #[tokio::test]
    async fn work_that_waits_past_the_deadline_is_cut_off() {
        let soon = tokio::time::Instant::now() + Duration::from_millis(20);
        let waits = tokio::time::sleep(Duration::from_secs(60));
        assert_eq!(within(soon, waits).await, None);
        let quick = tokio::time::sleep(Duration::from_millis(1));
        let later = tokio::time::Instant::now() + Duration::from_secs(60);
        assert_eq!(within(later, quick).await, Some(()));
    }
}
