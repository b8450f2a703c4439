//! Admission against shared data: a request takes one token from every bucket that applies and
//! one unit of quota, or nothing at all. Buckets live in shared data (one key each, spanning
//! workers) and are updated with compare-and-swap; a lost race gives back what was taken and
//! retries, a bounded number of times, then refuses (fail closed).

use super::bucket::{Bucket, Limit};
use super::quota::{self, Counter, Period};
use crate::gateway_response::{Rejection, ResponseType};
use crate::host::{Host, HostError};

/// Attempts before a request that keeps losing CAS races is refused.
pub const MAX_ATTEMPTS: usize = 16;

/// One token bucket a request must take a token from.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketSlot {
    pub key: String,
    pub limit: Limit,
}

/// The quota counter a request must fit in.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSlot {
    pub key: String,
    pub limit: u64,
    pub period: Period,
    pub offset: u32,
}

/// What a request was admitted with, for `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// (limit, remaining, seconds until reset) of the quota, if any.
    pub quota: Option<(u64, u64, u64)>,
    /// (burst, tokens left, seconds until full) of the first bucket, if any.
    pub bucket: Option<(u64, u64, u64)>,
}

enum Write {
    Bucket { slot: usize, cas: Option<u32>, state: Bucket },
    Quota { cas: Option<u32>, state: Counter },
}

/// Takes a token from every bucket and a unit of quota, or nothing. `Ok(Err(_))` is a refusal:
/// THROTTLED (a bucket is empty, or contention outlasted [`MAX_ATTEMPTS`]) or QUOTA_EXCEEDED.
pub fn admit<H: Host>(
    host: &mut H,
    buckets: &[BucketSlot],
    quota: Option<&QuotaSlot>,
    now_nanos: u64,
) -> Result<Result<Usage, Rejection>, HostError> {
    let now_secs = now_nanos / 1_000_000_000;
    'attempt: for _ in 0..MAX_ATTEMPTS {
        let mut writes = Vec::with_capacity(buckets.len() + 1);
        let mut usage = Usage::default();
        for (i, slot) in buckets.iter().enumerate() {
            let (value, cas) = host.shared_data(&slot.key)?;
            let current = value
                .as_deref()
                .and_then(Bucket::decode)
                .unwrap_or_else(|| Bucket::full(slot.limit, now_nanos));
            let Some(state) = current.take(slot.limit, now_nanos) else {
                return Ok(Err(Rejection::new(ResponseType::Throttled)));
            };
            if i == 0 {
                usage.bucket = Some((
                    slot.limit.burst,
                    state.whole_tokens(),
                    state.seconds_to_full(slot.limit),
                ));
            }
            writes.push(Write::Bucket { slot: i, cas, state });
        }
        if let Some(q) = quota {
            let (start, end) = quota::window(q.period, q.offset, now_secs);
            let (value, cas) = host.shared_data(&q.key)?;
            let current = value
                .as_deref()
                .and_then(Counter::decode)
                .unwrap_or(Counter { window_start: start, used: 0 })
                .in_window(start);
            if current.used >= q.limit {
                return Ok(Err(Rejection::new(ResponseType::QuotaExceeded)));
            }
            let state = Counter { used: current.used + 1, ..current };
            usage.quota = Some((q.limit, q.limit - state.used, end.saturating_sub(now_secs)));
            writes.push(Write::Quota { cas, state });
        }
        for (done, write) in writes.iter().enumerate() {
            let result = match write {
                Write::Bucket { slot, cas, state } => match buckets.get(*slot) {
                    Some(s) => host.set_shared_data(&s.key, &state.encode(), *cas),
                    None => Ok(()),
                },
                Write::Quota { cas, state } => match quota {
                    Some(q) => host.set_shared_data(&q.key, &state.encode(), *cas),
                    None => Ok(()),
                },
            };
            match result {
                Ok(()) => {}
                Err(HostError::CasMismatch) => {
                    give_back(host, buckets, quota, writes.get(..done).unwrap_or_default())?;
                    continue 'attempt;
                }
                Err(e) => {
                    give_back(host, buckets, quota, writes.get(..done).unwrap_or_default())?;
                    return Err(e);
                }
            }
        }
        return Ok(Ok(usage));
    }
    Ok(Err(Rejection::new(ResponseType::Throttled)))
}

/// Returns what a half-done admission took, each with its own bounded CAS loop.
fn give_back<H: Host>(
    host: &mut H,
    buckets: &[BucketSlot],
    quota: Option<&QuotaSlot>,
    taken: &[Write],
) -> Result<(), HostError> {
    for write in taken {
        for _ in 0..MAX_ATTEMPTS {
            let result = match write {
                Write::Bucket { slot, .. } => {
                    let Some(s) = buckets.get(*slot) else { break };
                    let (value, cas) = host.shared_data(&s.key)?;
                    let Some(b) = value.as_deref().and_then(Bucket::decode) else { break };
                    host.set_shared_data(&s.key, &b.give_back(s.limit).encode(), cas)
                }
                Write::Quota { state: taken, .. } => {
                    let Some(q) = quota else { break };
                    let (value, cas) = host.shared_data(&q.key)?;
                    let Some(c) = value.as_deref().and_then(Counter::decode) else { break };
                    if c.window_start != taken.window_start || c.used == 0 {
                        break;
                    }
                    host.set_shared_data(&q.key, &Counter { used: c.used - 1, ..c }.encode(), cas)
                }
            };
            match result {
                Ok(()) => break,
                Err(HostError::CasMismatch) => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::memory::{MemoryHost, SharedStore};
    use crate::test_support::test;

    const SEC: u64 = 1_000_000_000;

    fn slot(key: &str, rate: f64, burst: u64) -> BucketSlot {
        BucketSlot { key: key.into(), limit: Limit::new(rate, burst) }
    }

    fn quota(limit: u64) -> QuotaSlot {
        QuotaSlot { key: "q".into(), limit, period: Period::Day, offset: 0 }
    }

    #[test]
    fn takes_from_every_bucket_or_none() {
        let mut host = MemoryHost::default();
        let small = slot("small", 0.0, 2);
        let big = slot("big", 0.0, 10);
        for _ in 0..2 {
            assert!(admit(&mut host, &[big.clone(), small.clone()], None, 0).unwrap().is_ok());
        }
        let refused = admit(&mut host, &[big.clone(), small.clone()], None, 0).unwrap();
        assert_eq!(refused.unwrap_err().kind, ResponseType::Throttled);
        // `big` gave up nothing for the refused request: 8 tokens left.
        for _ in 0..8 {
            assert!(admit(&mut host, std::slice::from_ref(&big), None, 0).unwrap().is_ok());
        }
        assert!(admit(&mut host, &[big], None, 0).unwrap().is_err());
    }

    #[test]
    fn quota_counts_and_resets_with_the_window() {
        let mut host = MemoryHost::default();
        let b = slot("b", 1000.0, 1000);
        for i in 0..5 {
            let usage = admit(&mut host, std::slice::from_ref(&b), Some(&quota(5)), 10 * SEC)
                .unwrap()
                .unwrap();
            assert_eq!(usage.quota.map(|q| q.1), Some(4 - i));
        }
        let refused = admit(&mut host, std::slice::from_ref(&b), Some(&quota(5)), 10 * SEC)
            .unwrap()
            .unwrap_err();
        assert_eq!(refused.kind, ResponseType::QuotaExceeded);
        // The refused request took no token: 995 left.
        let usage = admit(&mut host, std::slice::from_ref(&b), None, 10 * SEC).unwrap().unwrap();
        assert_eq!(usage.bucket.map(|u| u.1), Some(994));
        // Next day, a fresh window.
        assert!(admit(&mut host, &[b], Some(&quota(5)), 86_400 * SEC).unwrap().is_ok());
    }

    #[test]
    fn throttled_request_uses_no_quota() {
        let mut host = MemoryHost::default();
        let b = slot("b", 0.0, 1);
        assert!(admit(&mut host, std::slice::from_ref(&b), Some(&quota(3)), 0).unwrap().is_ok());
        assert_eq!(
            admit(&mut host, &[b], Some(&quota(3)), 0).unwrap().unwrap_err().kind,
            ResponseType::Throttled
        );
        let (v, _) = host.shared.get("q").unwrap();
        assert_eq!(Counter::decode(&v.unwrap()).unwrap().used, 1);
    }

    /// Threads playing Envoy workers contend on one store: exactly `burst` requests get in.
    #[test]
    #[cfg(not(target_arch = "wasm32"))]
    fn cas_contention_across_threads_admits_exactly_burst() {
        let store = SharedStore::default();
        let buckets = [slot("plan", 0.0, 500), slot("stage", 0.0, 100_000)];
        let admitted: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let store = store.clone();
                    let buckets = buckets.clone();
                    s.spawn(move || {
                        let mut host = MemoryHost { shared: store, ..MemoryHost::default() };
                        let mut n = 0u64;
                        for _ in 0..400 {
                            if let Ok(Ok(_)) = admit(
                                &mut host,
                                &buckets,
                                Some(&QuotaSlot { limit: 100_000, ..quota(0) }),
                                0,
                            ) {
                                n += 1;
                            }
                        }
                        n
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(admitted, 500);
        let stage = Bucket::decode(&store.get("stage").unwrap().0.unwrap()).unwrap();
        assert_eq!(stage.whole_tokens(), 100_000 - 500, "no token leaked from the stage bucket");
        let q = Counter::decode(&store.get("q").unwrap().0.unwrap()).unwrap();
        assert_eq!(q.used, 500, "quota counts exactly the admitted requests");
    }

    #[test]
    fn corrupt_shared_values_are_treated_as_fresh() {
        let mut host = MemoryHost::default();
        host.shared.set("b", b"garbage", None).unwrap();
        assert!(admit(&mut host, &[slot("b", 1.0, 1)], None, 0).unwrap().is_ok());
    }
}
