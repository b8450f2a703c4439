//! The key store end to end without Envoy: `tollgate keys ... --store` (the built binary) writes
//! a real Redis (Debian's `redis-server` on a free loopback port), and `tollgate-ratelimit`'s
//! key store service, served in-process over gRPC, reads it back as the filters will.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

mod common;

use common::{ok, scratch, tollgate};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tollgate_core::apikey::hash_key;
use tollgate_core::keystore::{
    ChangesRequest, ChangesResponse, LookupRequest, LookupResponse, CHANGES, CHANGES_KEY,
    FLOOR_KEY, LOOKUP, MAX_CHANGES, SERVICE, VERSION_KEY,
};
use tonic::transport::Channel;

/// The command fails with a message containing `expected`.
fn refused(args: &[&str], expected: &str) {
    let run = tollgate(args);
    assert_eq!(run.code, 1, "tollgate {args:?}\nstdout: {}\nstderr: {}", run.stdout, run.stderr);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("tollgate: ") && last.contains(expected), "{expected}\n  in: {last}");
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A spec of one API with two plans on its stage and one on another API's; with
/// `api_key_store` when `store` is true.
fn spec(dir: &Path, store: bool) -> PathBuf {
    let file = dir.join(if store { "store.yaml" } else { "plain.yaml" });
    let mut text = "api: {id: pets}\n\
        methods: [{resource: /pets, http_method: GET, api_key_required: true}]\n\
        usage_plans:\n\
        - {id: basic, quota: {limit: 100, period: DAY}, api_stages: [{api_id: pets, stage: prod}]}\n\
        - {id: gold, quota: {limit: 1000, period: DAY}, api_stages: [{api_id: pets, stage: prod}]}\n\
        - {id: elsewhere, api_stages: [{api_id: other, stage: prod}]}\n"
        .to_string();
    if store {
        text.push_str("api_key_store: {cluster: ratelimit}\n");
    }
    std::fs::write(&file, text).unwrap();
    file
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap()
}

/// `redis-server` on a free loopback port, killed when dropped.
struct Redis {
    child: Child,
    port: u16,
    _dir: PathBuf,
}

impl Redis {
    fn start() -> Redis {
        Redis::start_on(free_port())
    }

    fn start_on(port: u16) -> Redis {
        let dir = scratch("key-store");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--dir", path(&dir)])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package)");
        let redis = Redis { child, port, _dir: dir };
        let start = Instant::now();
        while redis.try_query::<String>(&["PING"]).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn try_query<T: redis::FromRedisValue>(&self, args: &[&str]) -> redis::RedisResult<T> {
        let mut con = redis::Client::open(self.url())?.get_connection()?;
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut con)
    }

    fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> T {
        self.try_query(args).unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tollgate-ratelimit`'s services on a free port, in this process, over `redis`.
struct Service {
    runtime: tokio::runtime::Runtime,
    channel: Channel,
    services: tollgate_ratelimit::Services,
}

impl Service {
    fn start(redis: &Redis) -> Service {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let url = redis.url();
        let (services, channel) = runtime.block_on(async {
            let con = tollgate_ratelimit::connect(&url).await.unwrap();
            let services = tollgate_ratelimit::Services::new(Vec::new(), con);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let serving = services.clone();
            tokio::spawn(async move { serving.serve(listener, std::future::pending()).await });
            let endpoint = format!("http://127.0.0.1:{port}");
            let channel = tonic::transport::Endpoint::from_shared(endpoint).unwrap();
            (services, channel.connect().await.unwrap())
        });
        Service { runtime, channel, services }
    }

    fn call<Q, A>(&self, method: &str, request: Q) -> Result<A, Box<tonic::Status>>
    where
        Q: prost::Message + Send + Sync + 'static,
        A: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        let route = format!("/{SERVICE}/{method}").parse().unwrap();
        self.runtime.block_on(async move {
            grpc.ready().await.unwrap();
            let codec = tonic::codec::ProstCodec::<Q, A>::default();
            grpc.unary(tonic::Request::new(request), route, codec)
                .await
                .map(|r| r.into_inner())
                .map_err(Box::new)
        })
    }

    fn lookup_hash(&self, sha256: Vec<u8>) -> Result<LookupResponse, Box<tonic::Status>> {
        self.call(LOOKUP, LookupRequest { sha256 })
    }

    fn lookup(&self, value: &str) -> LookupResponse {
        self.lookup_hash(hash_key(value.as_bytes()).to_vec()).unwrap()
    }

    /// The feed after `since`, without its epoch (see [`Service::epoch`]).
    fn changes(&self, since: u64) -> ChangesResponse {
        let answer: ChangesResponse = self.call(CHANGES, ChangesRequest { since }).unwrap();
        assert!(!answer.epoch.is_empty(), "every answer names the store's epoch");
        ChangesResponse { epoch: String::new(), ..answer }
    }

    fn epoch(&self) -> String {
        let answer: ChangesResponse = self.call(CHANGES, ChangesRequest { since: 0 }).unwrap();
        answer.epoch
    }
}

fn found(id: &str, enabled: bool, plans: &[&str]) -> LookupResponse {
    LookupResponse {
        found: true,
        id: id.into(),
        enabled,
        usage_plan_ids: plans.iter().map(|p| p.to_string()).collect(),
    }
}

fn changed(version: u64, values: &[&str]) -> ChangesResponse {
    let changed = values.iter().map(|v| hash_key(v.as_bytes()).to_vec()).collect();
    ChangesResponse { version, changed, ..ChangesResponse::default() }
}

fn reset(version: u64) -> ChangesResponse {
    ChangesResponse { version, reset: true, ..ChangesResponse::default() }
}

const A: &str = "a-key-value-of-at-least-20";
const B: &str = "b-key-value-of-at-least-20";
const C: &str = "c-key-value-of-at-least-20";

#[test]
fn the_store_is_named_exactly_when_the_spec_reads_one() {
    let dir = scratch("key-store");
    let (plain, store) = (spec(&dir, false), spec(&dir, true));
    let url = "redis://127.0.0.1:1";
    refused(
        &["keys", "create", path(&plain), "--id", "k", "--store", url],
        "--store names a key store, but",
    );
    refused(
        &["keys", "list", path(&plain), "--store", url],
        "has no `api_key_store`: its gateway reads its keys from the spec's `api_keys`",
    );
    let run = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["keys", "disable", path(&plain), "k"])
        .env("TOLLGATE_KEY_STORE", url)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stderr).contains("unset TOLLGATE_KEY_STORE"));
    for args in [
        vec!["keys", "create", path(&store), "--id", "k"],
        vec!["keys", "enable", path(&store), "k"],
        vec!["keys", "import", path(&store), "--file", "keys.csv"],
        vec!["keys", "list", path(&store)],
    ] {
        refused(
            &args,
            "keeps its API keys in the key store (`api_key_store`): name its Redis with --store",
        );
    }
    refused(
        &["keys", "delete", path(&store), "k", "--store", url, "--deploy", path(&dir)],
        "keys in the key store take effect without a deploy",
    );
    // Nothing was written to the spec.
    assert!(!std::fs::read_to_string(&store).unwrap().contains("api_keys"));
}

#[test]
fn what_the_cli_writes_the_service_reads() {
    let redis = Redis::start();
    let service = Service::start(&redis);
    let dir = scratch("key-store");
    let spec = spec(&dir, true);
    let (spec, url) = (path(&spec), redis.url());
    let store = ["--store", url.as_str()];
    let create = |id: &str, value: &str, plans: &[&str]| {
        let mut args = vec!["keys", "create", spec, "--id", id, "--value", value];
        for p in plans {
            args.extend(["--plan", p]);
        }
        args.extend(store);
        tollgate(&args)
    };

    // Created keys are found at once, and stay out of the change feed.
    let run = create("acme", A, &["basic"]);
    assert_eq!((run.code, run.stdout.trim()), (0, A), "{}", run.stderr);
    assert!(run.stderr.contains("created API key `acme`"));
    assert_eq!(create("beta", B, &[]).code, 0);
    assert_eq!(service.lookup(A), found("acme", true, &["basic"]));
    assert_eq!(service.lookup(B), found("beta", true, &[]));
    assert_eq!(service.lookup(C), LookupResponse::default());
    assert_eq!(service.changes(0), reset(0));
    assert_eq!(redis.query::<i64>(&["EXISTS", VERSION_KEY]), 0);

    // Refused as AWS refuses them: a taken id, a taken value, plans that cannot be.
    refused(
        &["keys", "create", spec, "--id", "acme", "--value", C, store[0], store[1]],
        "API key `acme` already exists",
    );
    refused(
        &["keys", "create", spec, "--id", "other", "--value", A, store[0], store[1]],
        "an API key with this value already exists",
    );
    refused(
        &[
            "keys", "create", spec, "--id", "c", "--value", C, "--plan", "basic", "--plan", "gold",
            store[0], store[1],
        ],
        "usage plans `basic` and `gold` both cover pets/prod",
    );
    refused(
        &["keys", "create", spec, "--id", "c", "--plan", "nope", store[0], store[1]],
        "no usage plan `nope`",
    );
    refused(&["keys", "create", spec, "--id", "bad id", store[0], store[1]], "--id `bad id`");
    assert_eq!(service.lookup(C), LookupResponse::default());

    // Each change to an existing key raises the version and enters the feed, newest last.
    ok(&["keys", "disable", spec, "acme", store[0], store[1]]);
    assert_eq!(service.lookup(A), found("acme", false, &["basic"]));
    ok(&["keys", "delete", spec, "beta", store[0], store[1]]);
    assert_eq!(service.lookup(B), LookupResponse::default());
    assert_eq!(redis.query::<i64>(&["EXISTS", "tollgate:key-id:beta"]), 0);
    ok(&["keys", "enable", spec, "acme", store[0], store[1]]);
    // Enabling an enabled key changes nothing.
    ok(&["keys", "enable", spec, "acme", store[0], store[1]]);
    assert_eq!(service.changes(1), changed(3, &[B, A]));
    assert_eq!(service.changes(2), changed(3, &[A]));
    assert_eq!(service.changes(3), changed(3, &[]));
    assert_eq!(service.changes(4), reset(3), "newer than the store");
    refused(&["keys", "disable", spec, "beta", store[0], store[1]], "no API key `beta`");
    refused(&["keys", "delete", spec, "beta", store[0], store[1]], "no API key `beta`");

    // Import: a value already there updates that key (its id stays), new ones are named after
    // their Name when it is a free id; a plan change enters the feed.
    let csv = dir.join("keys.csv");
    std::fs::write(
        &csv,
        format!(
            "Name,Key,Description,Enabled,UsagePlanIds\n\
             renamed,{A},the first,TRUE,gold\n\
             acme,{B},taken name,TRUE,basic\n\
             carol,{C},,FALSE,\n"
        ),
    )
    .unwrap();
    let import = ["keys", "import", spec, "--file", path(&csv), store[0], store[1]];
    let run = ok(&import);
    assert!(run.stderr.contains("imported 2 new API keys, updated 1"), "{}", run.stderr);
    assert_eq!(service.lookup(A), found("acme", true, &["gold"]));
    let b_id = format!("key-{}", &tollgate_core::apikey::hash_key_hex(B.as_bytes())[..12]);
    assert_eq!(service.lookup(B), found(&b_id, true, &["basic"]));
    assert_eq!(service.lookup(C), found("carol", false, &[]));
    assert_eq!(service.changes(3), changed(4, &[A]));
    // Importing again changes nothing the filters see.
    let run = ok(&import);
    assert!(run.stderr.contains("imported 0 new API keys, updated 3"), "{}", run.stderr);
    assert_eq!(service.changes(4), changed(4, &[]));
    assert_eq!(
        redis.query::<String>(&[
            "HGET",
            &format!("tollgate:key:{}", tollgate_core::apikey::hash_key_hex(A.as_bytes())),
            "description"
        ]),
        "the first"
    );

    // A plan the spec lacks, or two plans on one stage, names the line.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, format!("Name,Key,UsagePlanIds\nx,{C},gold\ny,{B},\"basic,gold\"\n"))
        .unwrap();
    refused(
        &["keys", "import", spec, "--file", path(&bad), store[0], store[1]],
        "line 3: UsagePlanIds: usage_plan_ids[1]: usage plans `basic` and `gold` both cover pets/prod",
    );
    std::fs::write(&bad, format!("Name,Key,UsagePlanIds\nx,{C},platinum\n")).unwrap();
    refused(
        &["keys", "import", spec, "--file", path(&bad), store[0], store[1]],
        "line 2: UsagePlanIds: no usage plan `platinum`",
    );
    assert_eq!(service.lookup(C), found("carol", false, &[]), "nothing imported");

    // The list, by id, without values or hashes.
    let list = ok(&["keys", "list", spec, store[0], store[1]]).stdout;
    let rows: Vec<Vec<&str>> = list.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["ID", "STATE", "PLANS", "NAME"]);
    assert_eq!(rows[1], ["acme", "enabled", "gold", "renamed"]);
    assert_eq!(rows[2], ["carol", "disabled", "carol"]);
    assert_eq!(rows[3], [b_id.as_str(), "enabled", "basic", "acme"]);
    assert_eq!(rows.len(), 4);
    assert!(
        !list.contains(A) && !list.contains(&tollgate_core::apikey::hash_key_hex(A.as_bytes()))
    );

    // A request that is no SHA-256 is refused; the metrics count what was answered.
    let err = service.lookup_hash(vec![1; 31]).unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let metrics = service.services.metrics.render();
    for line in [
        "tollgate_ratelimit_key_lookups_total{result=\"found\"} 7",
        "tollgate_ratelimit_key_lookups_total{result=\"not_found\"} 3",
        "tollgate_ratelimit_key_lookups_total{result=\"error\"} 1",
        "tollgate_ratelimit_key_changes_total{result=\"ok\"} 5",
        "tollgate_ratelimit_key_changes_total{result=\"reset\"} 2",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}\nin:\n{metrics}");
    }

    // Redis emptied: a worker's version is newer than the store's, so it drops everything.
    let before = service.epoch();
    assert_eq!(service.epoch(), before, "an epoch stays");
    assert_eq!(redis.query::<String>(&["FLUSHALL"]), "OK");
    assert_eq!(service.changes(4), reset(0));
    assert_ne!(service.epoch(), before, "an emptied store has a new epoch");
    assert_eq!(service.lookup(A), LookupResponse::default());

    // Redis down: UNAVAILABLE at once (the filter applies its failure mode), counted as errors.
    let port = redis.port;
    drop(redis);
    let started = Instant::now();
    let err = service.lookup_hash(hash_key(A.as_bytes()).to_vec()).unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    let err = service.call::<_, ChangesResponse>(CHANGES, ChangesRequest { since: 4 }).unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    let err = service.lookup_hash(hash_key(A.as_bytes()).to_vec()).unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    let metrics = service.services.metrics.render();
    assert!(
        metrics.contains("tollgate_ratelimit_key_changes_total{result=\"error\"} 1"),
        "{metrics}"
    );
    // Redis back: the next call is answered.
    let redis = Redis::start_on(port);
    assert_eq!(service.changes(0), reset(0));
    assert_eq!(service.lookup(A), LookupResponse::default());
    drop(redis);
}

/// An AWS key file of `n` keys named `k{i}`, each with a value made from `i`.
fn key_file(dir: &Path, name: &str, n: usize, enabled: bool) -> PathBuf {
    let file = dir.join(name);
    let mut text = String::from("Name,Key,Enabled,UsagePlanIds\n");
    for i in 0..n {
        text.push_str(&format!("k{i},{},{enabled},basic\n", value(i)));
    }
    std::fs::write(&file, text).unwrap();
    file
}

fn value(i: usize) -> String {
    format!("value-{i:020}")
}

#[test]
fn the_feed_keeps_the_newest_changes_and_raises_the_floor() {
    let redis = Redis::start();
    let service = Service::start(&redis);
    let dir = scratch("key-store");
    let spec = spec(&dir, true);
    let url = redis.url();
    let n = usize::try_from(MAX_CHANGES).unwrap() + 1;
    let store = ["--store", url.as_str()];
    let enabled = key_file(&dir, "enabled.csv", n, true);
    let run = ok(&["keys", "import", path(&spec), "--file", path(&enabled), store[0], store[1]]);
    assert!(run.stderr.contains(&format!("imported {n} new API keys, updated 0")));
    assert_eq!(redis.query::<i64>(&["ZCARD", CHANGES_KEY]), 0);
    // Disabling every key changes each once: the oldest change falls out of the feed.
    let disabled = key_file(&dir, "disabled.csv", n, false);
    ok(&["keys", "import", path(&spec), "--file", path(&disabled), store[0], store[1]]);
    let n = n as u64;
    assert_eq!(redis.query::<i64>(&["GET", VERSION_KEY]), n as i64);
    assert_eq!(redis.query::<i64>(&["ZCARD", CHANGES_KEY]), MAX_CHANGES as i64);
    assert_eq!(redis.query::<i64>(&["GET", FLOOR_KEY]), 1);
    assert_eq!(service.changes(n - 1), changed(n, &[&value(n as usize - 1)]));
    assert_eq!(service.changes(n - 2).changed.len(), 2);
    // More changes than one answer carries: reset.
    assert_eq!(service.changes(1), reset(n));
    assert_eq!(service.lookup(&value(0)), found("k0", false, &["basic"]));
    // A worker behind the floor missed changes that were trimmed: reset, whatever is left.
    assert_eq!(redis.query::<String>(&["SET", FLOOR_KEY, &(n - 2).to_string()]), "OK");
    assert_eq!(service.changes(n - 3), reset(n));
    assert_eq!(service.changes(n - 2).changed.len(), 2);
}

#[test]
fn plan_changes_of_stored_keys_enter_the_feed() {
    let redis = Redis::start();
    let service = Service::start(&redis);
    let dir = scratch("key-store");
    let spec = spec(&dir, true);
    let (spec, url) = (path(&spec), redis.url());
    let store = ["--store", url.as_str()];
    ok(&[
        "keys", "create", spec, "--id", "acme", "--value", A, "--plan", "basic", store[0], store[1],
    ]);
    ok(&["plans", "add-key", spec, "elsewhere", "acme", store[0], store[1]]);
    assert_eq!(service.lookup(A), found("acme", true, &["basic", "elsewhere"]));
    refused(
        &["plans", "add-key", spec, "gold", "acme", store[0], store[1]],
        "usage plans `basic` and `gold` both cover pets/prod",
    );
    refused(
        &["plans", "add-key", spec, "basic", "acme", store[0], store[1]],
        "already in usage plan `basic`",
    );
    refused(
        &["plans", "add-key", spec, "nope", "acme", store[0], store[1]],
        "no usage plan `nope`",
    );
    refused(
        &["plans", "add-key", spec, "gold", "nobody", store[0], store[1]],
        "no API key `nobody`",
    );
    ok(&["plans", "move-key", spec, "acme", "--from", "basic", "--to", "gold", store[0], store[1]]);
    assert_eq!(service.lookup(A), found("acme", true, &["gold", "elsewhere"]));
    ok(&["plans", "remove-key", spec, "elsewhere", "acme", store[0], store[1]]);
    assert_eq!(service.lookup(A), found("acme", true, &["gold"]));
    assert_eq!(service.changes(1), changed(3, &[A]));
    refused(&["plans", "add-key", spec, "basic", "acme"], "name its Redis with --store");

    // A plan a stored key is in cannot be deleted; one no key uses can.
    refused(
        &["plans", "delete", spec, "gold", store[0], store[1]],
        "usage plan `gold` still has keys (acme)",
    );
    refused(&["plans", "delete", spec, "basic"], "name its Redis with --store");
    ok(&["plans", "delete", spec, "basic", store[0], store[1]]);
    assert!(!std::fs::read_to_string(spec).unwrap().contains("id: basic"));
}
