//! Admission: a request takes one token from every bucket that applies and one unit of quota,
//! or nothing at all. Units are spent from the worker's [`Leases`]; when a lease is empty the
//! worker takes a new batch from shared data (one key per bucket or counter, spanning workers)
//! in a compare-and-swap transaction over every empty lease at once. A lost race gives back what
//! was taken and retries a bounded number of times, then refuses (fail closed).

use super::bucket::{Bucket, Limit};
use super::lease::{Lease, Leases, BUCKET_LEASE_NANOS};
use super::quota::{self, Counter, Period};
use crate::gateway_response::{Rejection, ResponseType};
use crate::host::{Host, HostError};

/// Attempts before a request that keeps losing CAS races is refused.
pub const MAX_ATTEMPTS: usize = 16;

/// The `cas` of a write that must find its key absent. Envoy inserts a missing key whatever
/// the `cas` and overwrites an existing one when `cas` is 0 or none, so two workers that both
/// found the key missing would both write, and the second would erase what the first took. With
/// this `cas` the second write is refused instead (a key's version is Envoy's count of writes,
/// which starts at 1 and does not meet this value in practice) and the worker reads again.
const ABSENT: u32 = u32::MAX;

/// One token bucket a request must take a token from.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketSlot {
    pub key: String,
    pub limit: Limit,
    /// Tokens a worker takes from the shared bucket at once (1: no batching).
    pub lease: u64,
}

/// The quota counter a request must fit in.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSlot {
    pub key: String,
    pub limit: u64,
    pub period: Period,
    pub offset: u32,
    /// Units a worker takes from the shared counter at once (1: no batching).
    pub lease: u64,
}

impl BucketSlot {
    /// A bucket with the lease size for its limits: 1/128 of the burst, between 1 and 64, so
    /// that what two workers may hold unspent stays within 1% of the burst.
    pub fn new(key: String, limit: Limit) -> Self {
        BucketSlot { key, limit, lease: (limit.burst / 128).clamp(1, 64) }
    }
}

impl QuotaSlot {
    /// A quota with the lease size for its limit: 1/1000 of it, between 1 and 64.
    pub fn new(key: String, limit: u64, period: Period, offset: u32) -> Self {
        QuotaSlot { key, limit, period, offset, lease: (limit / 1000).clamp(1, 64) }
    }
}

/// What a request was admitted with, for `RateLimit-*` headers (as of the last lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// (limit, remaining, seconds until reset) of the quota, if any.
    pub quota: Option<(u64, u64, u64)>,
    /// (burst, tokens left, seconds until full) of the first bucket, if any.
    pub bucket: Option<(u64, u64, u64)>,
}

/// One shared-data write of a lease transaction.
struct Write {
    /// Index in `buckets`, or `None` for the quota.
    slot: Option<usize>,
    cas: Option<u32>,
    value: [u8; 16],
    units: u64,
    lease: Lease,
}

/// Takes a token from every bucket and a unit of quota, or nothing. `Ok(Err(_))` is a refusal:
/// THROTTLED (a bucket is empty, or contention outlasted [`MAX_ATTEMPTS`]) or QUOTA_EXCEEDED.
pub fn admit<H: Host>(
    host: &mut H,
    leases: &mut Leases,
    buckets: &[BucketSlot],
    quota: Option<&QuotaSlot>,
    now_nanos: u64,
) -> Result<Result<Usage, Rejection>, HostError> {
    let window = quota.map(|q| quota::window(q.period, q.offset, now_nanos / 1_000_000_000));
    let start = window.map_or(0, |(s, _)| s);
    let empty: Vec<usize> = (0..buckets.len())
        .filter(|&i| buckets.get(i).is_some_and(|b| leases.units(&b.key, now_nanos, 0) == 0))
        .collect();
    let quota_empty = quota.filter(|q| leases.units(&q.key, now_nanos, start) == 0);
    if !empty.is_empty() || quota_empty.is_some() {
        if let Err(rejection) = lease(host, leases, buckets, &empty, quota_empty, now_nanos)? {
            return Ok(Err(rejection));
        }
    }
    let mut usage = Usage::default();
    for (i, b) in buckets.iter().enumerate() {
        leases.spend(&b.key);
        if i == 0 {
            usage.bucket =
                leases.get(&b.key).map(|l| (b.limit.burst, l.shared_left + l.units, l.reset_secs));
        }
    }
    if let Some(q) = quota {
        leases.spend(&q.key);
        usage.quota = leases.get(&q.key).map(|l| (q.limit, l.shared_left + l.units, l.reset_secs));
    }
    Ok(Ok(usage))
}

/// Refills the empty leases from shared data in one all-or-nothing transaction.
fn lease<H: Host>(
    host: &mut H,
    leases: &mut Leases,
    buckets: &[BucketSlot],
    empty: &[usize],
    quota: Option<&QuotaSlot>,
    now_nanos: u64,
) -> Result<Result<(), Rejection>, HostError> {
    let now_secs = now_nanos / 1_000_000_000;
    'attempt: for _ in 0..MAX_ATTEMPTS {
        let mut writes = Vec::with_capacity(empty.len() + 1);
        for &i in empty {
            let Some(slot) = buckets.get(i) else { continue };
            let (value, cas) = host.shared_data(&slot.key)?;
            let current = value
                .as_deref()
                .and_then(Bucket::decode)
                .unwrap_or_else(|| Bucket::full(slot.limit, now_nanos));
            let Some((after, units)) = current.take_up_to(slot.limit, now_nanos, slot.lease) else {
                return Ok(Err(Rejection::new(ResponseType::Throttled)));
            };
            let lease = Lease {
                units,
                until_nanos: now_nanos.saturating_add(BUCKET_LEASE_NANOS),
                window: 0,
                shared_left: after.whole_tokens(),
                reset_secs: after.seconds_to_full(slot.limit),
            };
            let cas = Some(cas.unwrap_or(ABSENT));
            writes.push(Write { slot: Some(i), cas, value: after.encode(), units, lease });
        }
        if let Some(q) = quota {
            let (start, end) = quota::window(q.period, q.offset, now_secs);
            let (value, cas) = host.shared_data(&q.key)?;
            let current = value
                .as_deref()
                .and_then(Counter::decode)
                .unwrap_or(Counter { window_start: start, used: 0 })
                .in_window(start);
            let units = q.limit.saturating_sub(current.used).min(q.lease);
            if units == 0 {
                return Ok(Err(Rejection::new(ResponseType::QuotaExceeded)));
            }
            let after = Counter { used: current.used + units, ..current };
            let lease = Lease {
                units,
                until_nanos: end.saturating_mul(1_000_000_000),
                window: start,
                shared_left: q.limit.saturating_sub(after.used),
                reset_secs: end.saturating_sub(now_secs),
            };
            let cas = Some(cas.unwrap_or(ABSENT));
            writes.push(Write { slot: None, cas, value: after.encode(), units, lease });
        }
        for (done, w) in writes.iter().enumerate() {
            let key = key_of(buckets, quota, w.slot);
            match host.set_shared_data(key, &w.value, w.cas) {
                Ok(()) => {}
                Err(e) => {
                    give_back(host, buckets, quota, writes.get(..done).unwrap_or_default())?;
                    if e == HostError::CasMismatch {
                        continue 'attempt;
                    }
                    return Err(e);
                }
            }
        }
        for w in &writes {
            leases.add(key_of(buckets, quota, w.slot), w.lease, now_nanos);
        }
        return Ok(Ok(()));
    }
    Ok(Err(Rejection::new(ResponseType::Throttled)))
}

fn key_of<'a>(
    buckets: &'a [BucketSlot],
    quota: Option<&'a QuotaSlot>,
    slot: Option<usize>,
) -> &'a str {
    match slot {
        Some(i) => buckets.get(i).map_or("", |b| b.key.as_str()),
        None => quota.map_or("", |q| q.key.as_str()),
    }
}

/// Returns what a half-done transaction took, each with its own bounded CAS loop.
fn give_back<H: Host>(
    host: &mut H,
    buckets: &[BucketSlot],
    quota: Option<&QuotaSlot>,
    taken: &[Write],
) -> Result<(), HostError> {
    for w in taken {
        let key = key_of(buckets, quota, w.slot);
        for _ in 0..MAX_ATTEMPTS {
            let (value, cas) = host.shared_data(key)?;
            let restored = match w.slot {
                Some(i) => {
                    let Some(slot) = buckets.get(i) else { break };
                    let Some(b) = value.as_deref().and_then(Bucket::decode) else { break };
                    b.give_back(slot.limit, w.units).encode()
                }
                None => {
                    let Some(c) = value.as_deref().and_then(Counter::decode) else { break };
                    if c.window_start != w.lease.window {
                        break;
                    }
                    Counter { used: c.used.saturating_sub(w.units), ..c }.encode()
                }
            };
            match host.set_shared_data(key, &restored, cas) {
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
        BucketSlot { key: key.into(), limit: Limit::new(rate, burst), lease: 1 }
    }

    fn quota(limit: u64) -> QuotaSlot {
        QuotaSlot { key: "q".into(), limit, period: Period::Day, offset: 0, lease: 1 }
    }

    #[test]
    fn takes_from_every_bucket_or_none() {
        let mut host = MemoryHost::default();
        let small = slot("small", 0.0, 2);
        let big = slot("big", 0.0, 10);
        for _ in 0..2 {
            assert!(admit(
                &mut host,
                &mut Leases::default(),
                &[big.clone(), small.clone()],
                None,
                0
            )
            .unwrap()
            .is_ok());
        }
        let refused =
            admit(&mut host, &mut Leases::default(), &[big.clone(), small.clone()], None, 0)
                .unwrap();
        assert_eq!(refused.unwrap_err().kind, ResponseType::Throttled);
        // `big` gave up nothing for the refused request: 8 tokens left.
        for _ in 0..8 {
            assert!(admit(&mut host, &mut Leases::default(), std::slice::from_ref(&big), None, 0)
                .unwrap()
                .is_ok());
        }
        assert!(admit(&mut host, &mut Leases::default(), &[big], None, 0).unwrap().is_err());
    }

    #[test]
    fn quota_counts_and_resets_with_the_window() {
        let mut host = MemoryHost::default();
        let b = slot("b", 1000.0, 1000);
        for i in 0..5 {
            let usage = admit(
                &mut host,
                &mut Leases::default(),
                std::slice::from_ref(&b),
                Some(&quota(5)),
                10 * SEC,
            )
            .unwrap()
            .unwrap();
            assert_eq!(usage.quota.map(|q| q.1), Some(4 - i));
        }
        let refused = admit(
            &mut host,
            &mut Leases::default(),
            std::slice::from_ref(&b),
            Some(&quota(5)),
            10 * SEC,
        )
        .unwrap()
        .unwrap_err();
        assert_eq!(refused.kind, ResponseType::QuotaExceeded);
        // The refused request took no token: 995 left.
        let usage =
            admit(&mut host, &mut Leases::default(), std::slice::from_ref(&b), None, 10 * SEC)
                .unwrap()
                .unwrap();
        assert_eq!(usage.bucket.map(|u| u.1), Some(994));
        // Next day, a fresh window.
        assert!(admit(&mut host, &mut Leases::default(), &[b], Some(&quota(5)), 86_400 * SEC)
            .unwrap()
            .is_ok());
    }

    #[test]
    fn throttled_request_uses_no_quota() {
        let mut host = MemoryHost::default();
        let b = slot("b", 0.0, 1);
        assert!(admit(
            &mut host,
            &mut Leases::default(),
            std::slice::from_ref(&b),
            Some(&quota(3)),
            0
        )
        .unwrap()
        .is_ok());
        assert_eq!(
            admit(&mut host, &mut Leases::default(), &[b], Some(&quota(3)), 0)
                .unwrap()
                .unwrap_err()
                .kind,
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
                                &mut Leases::default(),
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
        assert!(admit(&mut host, &mut Leases::default(), &[slot("b", 1.0, 1)], None, 0)
            .unwrap()
            .is_ok());
    }

    /// Two workers with leases of 10 on a bucket of 100 and a quota of 95: together they admit
    /// exactly the quota, and the shared state shows every leased unit.
    #[test]
    fn leased_batches_never_exceed_the_limits() {
        let store = SharedStore::default();
        let bucket = BucketSlot { lease: 10, ..slot("b", 0.0, 100) };
        let q = QuotaSlot { lease: 10, ..quota(95) };
        let mut workers: Vec<(MemoryHost, Leases)> = (0..2)
            .map(|_| {
                (MemoryHost { shared: store.clone(), ..MemoryHost::default() }, Leases::default())
            })
            .collect();
        let mut admitted = 0;
        for i in 0..300 {
            let (host, leases) = &mut workers[i % 2];
            if admit(host, leases, std::slice::from_ref(&bucket), Some(&q), 0).unwrap().is_ok() {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 95);
        let c = Counter::decode(&store.get("q").unwrap().0.unwrap()).unwrap();
        assert_eq!(c.used, 95);
        let b = Bucket::decode(&store.get("b").unwrap().0.unwrap()).unwrap();
        assert!(b.whole_tokens() <= 5, "{} tokens left", b.whole_tokens());
    }

    /// A lease is spent locally: after the first request, nine more need no shared data.
    #[test]
    fn leases_save_shared_round_trips() {
        let mut host = MemoryHost::default();
        let mut leases = Leases::default();
        let bucket = BucketSlot { lease: 10, ..slot("b", 0.0, 1000) };
        admit(&mut host, &mut leases, std::slice::from_ref(&bucket), None, 0).unwrap().unwrap();
        host.shared = SharedStore::default(); // any shared access now would see a fresh bucket
        for _ in 0..9 {
            admit(&mut host, &mut leases, std::slice::from_ref(&bucket), None, 0).unwrap().unwrap();
        }
        assert_eq!(
            host.shared.get("b").unwrap(),
            (None, None),
            "no shared access for leased tokens"
        );
        // Leased tokens expire: a second later the worker goes back to shared data.
        admit(&mut host, &mut leases, std::slice::from_ref(&bucket), None, 2 * SEC)
            .unwrap()
            .unwrap();
        assert!(host.shared.get("b").unwrap().0.is_some());
    }
}
