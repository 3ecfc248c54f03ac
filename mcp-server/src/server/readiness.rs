//! Readiness checks of what the server depends on (its database, an
//! upstream API), run by the HTTP transport's `/ready` probe.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::handler::BoxFuture;

/// How long one check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an answer is reused: a probe every few milliseconds (or a
/// flood of them) costs the dependency one check per second at most.
const FRESH_FOR: Duration = Duration::from_secs(1);

type Run = Arc<dyn Fn() -> BoxFuture<Result<(), String>> + Send + Sync>;
/// When the checks last ran, and which failed.
type LastAnswer = Option<(Instant, Arc<[Arc<str>]>)>;

#[derive(Clone)]
struct Check {
    name: Arc<str>,
    run: Run,
}

/// The checks a builder registered, and the last answer.
#[derive(Default)]
pub(crate) struct Readiness {
    checks: Vec<Check>,
    last: tokio::sync::Mutex<LastAnswer>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.checks.iter().map(|c| &*c.name).collect();
        f.debug_struct("Readiness").field("checks", &names).finish()
    }
}

impl Clone for Readiness {
    fn clone(&self) -> Self {
        Self {
            checks: self.checks.clone(),
            last: tokio::sync::Mutex::default(),
        }
    }
}

impl Readiness {
    pub(crate) fn add<F, Fut>(&mut self, name: String, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push(Check {
            name: Arc::from(name),
            run: Arc::new(move || Box::pin(check())),
        });
    }

    /// The names of the checks that fail now (or failed within the last
    /// second); empty when all pass. Concurrent callers share one run.
    pub(crate) async fn failing(&self) -> Arc<[Arc<str>]> {
        if self.checks.is_empty() {
            return Arc::from(Vec::new());
        }
        let mut last = self.last.lock().await;
        if let Some((at, failing)) = &*last
            && at.elapsed() < FRESH_FOR
        {
            return Arc::clone(failing);
        }
        let results = join_all(self.checks.iter().map(|check| async move {
            let outcome = match tokio::time::timeout(CHECK_TIMEOUT, (check.run)()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
            };
            (check, outcome)
        }))
        .await;
        let failing: Arc<[Arc<str>]> = results
            .into_iter()
            .filter_map(|(check, outcome)| {
                let error = outcome.err()?;
                tracing::warn!(check = %check.name, %error, "a readiness check failed");
                Some(Arc::clone(&check.name))
            })
            .collect();
        *last = Some((Instant::now(), Arc::clone(&failing)));
        failing
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn failing_checks_are_named_and_answers_reused_for_a_second() {
        let up = Arc::new(AtomicBool::new(true));
        let runs = Arc::new(AtomicUsize::new(0));
        let mut readiness = Readiness::default();
        let (flag, count) = (Arc::clone(&up), Arc::clone(&runs));
        readiness.add("database".into(), move || {
            count.fetch_add(1, Ordering::SeqCst);
            let up = flag.load(Ordering::SeqCst);
            async move { if up { Ok(()) } else { Err("refused".into()) } }
        });
        readiness.add("cache".into(), || async { Ok(()) });
        assert!(readiness.failing().await.is_empty());
        up.store(false, Ordering::SeqCst);
        // Within a second the last answer stands, without running again.
        assert!(readiness.failing().await.is_empty());
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        *readiness.last.lock().await = None;
        assert_eq!(&*readiness.failing().await, [Arc::from("database")]);
    }

    #[tokio::test]
    async fn a_flood_of_probes_runs_the_checks_once() {
        let runs = Arc::new(AtomicUsize::new(0));
        let mut readiness = Readiness::default();
        let count = Arc::clone(&runs);
        readiness.add("database".into(), move || {
            count.fetch_add(1, Ordering::SeqCst);
            async { Err("refused".into()) }
        });
        let readiness = Arc::new(readiness);
        let probes: Vec<_> = (0..64)
            .map(|_| {
                let readiness = Arc::clone(&readiness);
                tokio::spawn(async move { readiness.failing().await })
            })
            .collect();
        for probe in probes {
            assert_eq!(&*probe.await.unwrap(), [Arc::from("database")]);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_that_hangs_fails_after_the_timeout() {
        let mut readiness = Readiness::default();
        readiness.add("upstream".into(), std::future::pending);
        assert_eq!(&*readiness.failing().await, [Arc::from("upstream")]);
    }
}
