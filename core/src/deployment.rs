//! An API deployed to one or several stages, each compiled into its own [`Plan`] (and a second
//! one for its canary), and the choice of the stage for a request: a custom domain's base path
//! mapping, the Envoy route's name, the first path segment (execute-api style), a version
//! header, or a default.

use std::rc::Rc;

use crate::admin::AdminPlan;
use crate::config::{
    BasePathMapping, CompactConfig, Config, ConfigError, KeyTable, Stage, StageSelection,
};
use crate::plan::Plan;

#[derive(Debug)]
pub struct Deployment {
    pub stages: Vec<StagePlans>,
    /// The management routes, when the config has `admin`.
    pub admin: Option<AdminPlan>,
    selection: Selection,
}

#[derive(Debug)]
pub struct StagePlans {
    pub name: String,
    pub plan: Plan,
    pub canary: Option<CanaryPlan>,
}

#[derive(Debug)]
pub struct CanaryPlan {
    /// 0.0 to 100.0.
    pub percent: f64,
    pub plan: Plan,
}

#[derive(Debug)]
struct Selection {
    /// Several stages: a request must be assigned one.
    several: bool,
    path_prefix: bool,
    /// Lowercase header name.
    header: Option<String>,
    default: Option<usize>,
    /// Base path mappings, the longest base path first.
    mappings: Vec<Mapping>,
}

/// A compiled [`BasePathMapping`].
#[derive(Debug)]
struct Mapping {
    /// Lowercase host name; any host when `None`.
    domain: Option<String>,
    /// `/v1`, `/orders/v2`; `""` for the domain's root.
    prefix: String,
    stage: usize,
}

/// The stage (and side) serving a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub stage: usize,
    pub canary: bool,
    /// `/dev` when the stage came from the path: removed before matching and before the
    /// request goes upstream.
    pub base_path: Option<String>,
    /// The base path is a custom domain's (a base path mapping): Envoy's route removes it on the
    /// way upstream (`prefix_rewrite`), so that the route matched stays the API's own.
    pub mapped: bool,
}

/// What the stage choice may look at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// Envoy's route name (`xds.route_name`), when the filter read it.
    pub route_name: Option<&'a [u8]>,
    pub path: &'a [u8],
    /// The value of the selection header, when one is configured.
    pub header: Option<&'a [u8]>,
    /// The request's `:authority`, when a base path mapping names a domain.
    pub authority: Option<&'a [u8]>,
}

impl Deployment {
    /// Parses, validates and compiles a config document; `{"env": NAME}` secrets come from the
    /// process environment.
    pub fn from_json(bytes: &[u8]) -> Result<Deployment, ConfigError> {
        Deployment::from_compact(CompactConfig::compact_from_json(bytes)?)
    }

    /// As [`Deployment::from_json`], reading the document as it goes (give it a buffered
    /// reader): the filter never holds the whole document, whose size would stay in the VM's
    /// memory for good.
    pub fn from_reader(reader: impl std::io::Read) -> Result<Deployment, ConfigError> {
        Deployment::from_compact(CompactConfig::compact_from_reader(reader)?)
    }

    fn from_compact(mut config: CompactConfig) -> Result<Deployment, ConfigError> {
        let keys = Rc::new(std::mem::take(&mut config.api_keys));
        Deployment::compile_with(&config, keys, &|name| std::env::var(name).ok())
    }

    pub fn compile(
        config: &Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Deployment, ConfigError> {
        Deployment::compile_with(config, Rc::new(KeyTable::from_keys(&config.api_keys)), env)
    }

    /// Compiles `config` with its keys in `keys` (`config.api_keys` is not read): one table
    /// for every stage and canary.
    fn compile_with<K>(
        config: &Config<K>,
        keys: Rc<KeyTable>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Deployment, ConfigError> {
        let stages: Vec<(String, &Stage)> = if config.stages.is_empty() {
            vec![("stage".to_string(), &config.stage)]
        } else {
            if config.stage != Stage::default() {
                return Err(ConfigError::new(
                    "stage",
                    "a config has `stage` (one stage) or `stages` (several), not both",
                ));
            }
            config.stages.iter().enumerate().map(|(i, s)| (format!("stages[{i}]"), s)).collect()
        };
        let mut out: Vec<StagePlans> = Vec::with_capacity(stages.len());
        for (path, stage) in stages {
            if out.iter().any(|s| s.name == stage.name) {
                return Err(ConfigError::new(
                    format!("{path}.name"),
                    format!("stage `{}` is configured twice", stage.name),
                ));
            }
            let plan = compile_stage(config, stage, (&path, &keys), env)?;
            let canary = match &stage.canary {
                None => None,
                Some(c) => {
                    let field = format!("{path}.canary");
                    if !(0.0..=100.0).contains(&c.percent_traffic) {
                        return Err(ConfigError::new(
                            format!("{field}.percent_traffic"),
                            format!("{} is not in 0.0-100.0", c.percent_traffic),
                        ));
                    }
                    let mut variant = stage.clone();
                    variant.canary = None;
                    variant.variables.extend(c.stage_variable_overrides.clone());
                    let mut plan = compile_stage(config, &variant, (&field, &keys), env)?;
                    if !c.use_stage_cache {
                        for cache in plan.methods.iter_mut().filter_map(|m| m.cache.as_mut()) {
                            cache.separate("canary");
                        }
                    }
                    Some(CanaryPlan { percent: c.percent_traffic, plan })
                }
            };
            out.push(StagePlans { name: stage.name.clone(), plan, canary });
        }
        let several = !config.stages.is_empty();
        if !several && config.stage_selection.path_prefix {
            // One stage: execute-api style paths (`/prod/pets`) are served too.
            for stage in &mut out {
                let prefix = format!("/{}", stage.name);
                stage.plan.stage_prefix = Some(prefix.clone());
                if let Some(canary) = &mut stage.canary {
                    canary.plan.stage_prefix = Some(prefix);
                }
            }
        }
        let mut selection = compile_selection(&config.stage_selection, &out, several)?;
        selection.mappings = compile_mappings(&config.base_path_mappings, &out)?;
        let admin = AdminPlan::compile(config, &keys)?;
        Ok(Deployment { stages: out, admin, selection })
    }

    /// The first stage's plan: what every stage has in common (authorizers, keys, API id).
    pub fn primary(&self) -> Option<&Plan> {
        self.stages.first().map(|s| &s.plan)
    }

    /// One stage without a canary or base path mappings: every request is served by it, with
    /// nothing to read.
    pub fn single(&self) -> bool {
        !self.selection.several
            && self.selection.mappings.is_empty()
            && self.stages.iter().all(|s| s.canary.is_none())
    }

    /// Whether the stage choice looks at the path (then the filter reads it).
    pub fn needs_path(&self) -> bool {
        self.selection.several || !self.selection.mappings.is_empty()
    }

    /// Whether the stage choice looks at the host (a base path mapping names a domain).
    pub fn needs_authority(&self) -> bool {
        self.selection.mappings.iter().any(|m| m.domain.is_some())
    }

    /// Whether the stage choice looks at the route name (then the filter reads it).
    pub fn needs_route_name(&self) -> bool {
        self.selection.several
    }

    /// The selection header's name, if the stage choice looks at one.
    pub fn selection_header(&self) -> Option<&str> {
        self.selection.header.as_deref().filter(|_| self.selection.several)
    }

    /// The stage for a request; `roll` (0.0 to 100.0, uniform) decides the canary side. `None`:
    /// no stage (403 `Missing Authentication Token`).
    pub fn select(&self, request: &Request<'_>, roll: f64) -> Option<Selected> {
        let mapped = self.mapped(request);
        let (stage, base_path) = match mapped.clone() {
            Some(found) => found,
            None => self.stage_of(request)?,
        };
        let canary = self
            .stages
            .get(stage)
            .and_then(|s| s.canary.as_ref())
            .is_some_and(|c| roll < c.percent);
        Some(Selected { stage, canary, base_path, mapped: mapped.is_some() })
    }

    fn stage_of(&self, request: &Request<'_>) -> Option<(usize, Option<String>)> {
        if !self.selection.several {
            return Some((0, None));
        }
        let by_name = |name: &[u8]| self.stages.iter().position(|s| s.name.as_bytes() == name);
        if let Some(i) = request.route_name.and_then(by_name) {
            return Some((i, None));
        }
        if self.selection.path_prefix {
            let rest = request.path.strip_prefix(b"/").unwrap_or_default();
            let end = rest.iter().position(|&b| b == b'/' || b == b'?').unwrap_or(rest.len());
            let first = rest.get(..end).unwrap_or_default();
            if let Some(i) = by_name(first) {
                return Some((i, Some(format!("/{}", String::from_utf8_lossy(first)))));
            }
        }
        if let Some(i) = request.header.and_then(by_name) {
            return Some((i, None));
        }
        self.selection.default.map(|i| (i, None))
    }

    /// The stage and base path of the longest base path mapping the request's host and path
    /// fall under.
    fn mapped(&self, request: &Request<'_>) -> Option<(usize, Option<String>)> {
        if self.selection.mappings.is_empty() {
            return None;
        }
        let host = request.authority.map(host_of);
        self.selection
            .mappings
            .iter()
            .find(|m| {
                let domain_ok = match (&m.domain, host) {
                    (None, _) => true,
                    (Some(domain), Some(host)) => host.eq_ignore_ascii_case(domain.as_bytes()),
                    (Some(_), None) => false,
                };
                domain_ok && under_prefix(request.path, &m.prefix)
            })
            .map(|m| (m.stage, (!m.prefix.is_empty()).then(|| m.prefix.clone())))
    }

    /// The plan serving a selected request.
    pub fn plan(&self, selected: &Selected) -> Option<&Plan> {
        let stage = self.stages.get(selected.stage)?;
        match (&stage.canary, selected.canary) {
            (Some(c), true) => Some(&c.plan),
            _ => Some(&stage.plan),
        }
    }
}

fn compile_stage<K>(
    config: &Config<K>,
    stage: &Stage,
    (path, keys): (&str, &Rc<KeyTable>),
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, ConfigError> {
    Plan::compile_stage(config, stage, Rc::clone(keys), env).map_err(|e| {
        // Errors of the stage's own fields name it; others say which stage they came up in
        // (a stage variable may be undefined in one stage only).
        match e.path.strip_prefix("stage") {
            Some(rest) if path != "stage" => ConfigError::new(format!("{path}{rest}"), e.reason),
            _ if path != "stage" => {
                ConfigError::new(e.path, format!("{} (stage `{}`)", e.reason, stage.name))
            }
            _ => e,
        }
    })
}

fn compile_selection(
    selection: &StageSelection,
    stages: &[StagePlans],
    several: bool,
) -> Result<Selection, ConfigError> {
    let header = match &selection.header {
        Some(h) if crate::text::is_token(h) => Some(h.to_ascii_lowercase()),
        Some(h) => {
            return Err(ConfigError::new(
                "stage_selection.header",
                format!("`{h}` is not a header name"),
            ))
        }
        None => None,
    };
    let default = match &selection.default {
        Some(name) => Some(stages.iter().position(|s| &s.name == name).ok_or_else(|| {
            ConfigError::new("stage_selection.default", format!("no stage `{name}`"))
        })?),
        None => None,
    };
    Ok(Selection {
        several,
        path_prefix: selection.path_prefix,
        header,
        default,
        mappings: Vec::new(),
    })
}

/// `api.example.com:8443` -> `api.example.com` (an IPv6 literal keeps its brackets).
fn host_of(authority: &[u8]) -> &[u8] {
    match authority.iter().rposition(|&b| b == b':') {
        Some(colon) if !authority.ends_with(b"]") => authority.get(..colon).unwrap_or(authority),
        _ => authority,
    }
}

/// Whether `path` is `prefix` or below it (`/v1`, `/v1/pets`, `/v1?x`, not `/v10`).
fn under_prefix(path: &[u8], prefix: &str) -> bool {
    path.strip_prefix(prefix.as_bytes())
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/") || rest.starts_with(b"?"))
}

/// `v1`, `/orders/v2/` -> `/v1`, `/orders/v2`; `(none)` or empty -> `""` (the domain's root);
/// `None` when it is not a base path AWS accepts (segments of letters, digits and `$-_.+!*'()`).
pub fn base_path_prefix(base_path: &str) -> Option<String> {
    let path = base_path.trim_matches('/');
    if path.is_empty() || path == "(none)" {
        return Some(String::new());
    }
    let segment_ok = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"$-_.+!*'()".contains(&b))
    };
    path.split('/').all(segment_ok).then(|| format!("/{path}"))
}

/// Checks and orders the base path mappings: AWS's base path characters, one or more segments,
/// stages of this API, no (domain, base path) twice.
fn compile_mappings(
    mappings: &[BasePathMapping],
    stages: &[StagePlans],
) -> Result<Vec<Mapping>, ConfigError> {
    let mut out: Vec<Mapping> = Vec::with_capacity(mappings.len());
    for (i, m) in mappings.iter().enumerate() {
        let field = |name: &str| format!("base_path_mappings[{i}].{name}");
        let stage = stages
            .iter()
            .position(|s| s.name == m.stage)
            .ok_or_else(|| ConfigError::new(field("stage"), format!("no stage `{}`", m.stage)))?;
        let Some(prefix) = base_path_prefix(&m.base_path) else {
            return Err(ConfigError::new(
                field("base_path"),
                format!(
                    "`{}` is not a base path: segments of letters, digits and $-_.+!*'() separated by `/`, or `(none)`",
                    m.base_path
                ),
            ));
        };
        let domain = match &m.domain_name {
            Some(d) if !d.is_empty() && crate::text::is_host_name(d) => {
                Some(d.to_ascii_lowercase())
            }
            Some(d) => {
                return Err(ConfigError::new(
                    field("domain_name"),
                    format!("`{d}` is not a domain name"),
                ))
            }
            None => None,
        };
        if out.iter().any(|o| o.domain == domain && o.prefix == prefix) {
            return Err(ConfigError::new(
                field("base_path"),
                format!("`{}` is mapped twice on this domain", m.base_path),
            ));
        }
        out.push(Mapping { domain, prefix, stage });
    }
    // The longest base path first; a named domain before any domain.
    out.sort_by(|a, b| {
        b.prefix.len().cmp(&a.prefix.len()).then(b.domain.is_some().cmp(&a.domain.is_some()))
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;
    use serde_json::json;

    fn deployment(extra: serde_json::Value) -> Result<Deployment, ConfigError> {
        let mut config = json!({"api": {"id": "shop"}, "methods": [{"resource": "/pets", "http_method": "GET"}]});
        if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        Deployment::from_json(config.to_string().as_bytes())
    }

    fn request<'a>(route: Option<&'a str>, path: &'a str, header: Option<&'a str>) -> Request<'a> {
        Request {
            route_name: route.map(str::as_bytes),
            path: path.as_bytes(),
            header: header.map(str::as_bytes),
            authority: None,
        }
    }

    fn on<'a>(authority: &'a str, path: &'a str) -> Request<'a> {
        Request { authority: Some(authority.as_bytes()), ..request(None, path, None) }
    }

    #[test]
    fn base_path_mappings_choose_the_stage_and_are_removed() {
        let d = deployment(json!({
            "stages": [{"name": "prod"}, {"name": "beta"}],
            "base_path_mappings": [
                {"domain_name": "api.example.com", "base_path": "v1", "stage": "prod"},
                {"domain_name": "API.example.com", "base_path": "/orders/v1/", "stage": "beta"},
                {"domain_name": "partners.example.com", "base_path": "(none)", "stage": "beta"},
                {"base_path": "any", "stage": "prod"},
            ],
        }))
        .unwrap();
        assert!(d.needs_path() && d.needs_authority() && !d.single());
        let pick = |r: Request<'_>| d.select(&r, 50.0).map(|s| (s.stage, s.base_path));
        assert_eq!(pick(on("api.example.com", "/v1/pets")), Some((0, Some("/v1".into()))));
        assert_eq!(pick(on("Api.Example.com:443", "/v1")), Some((0, Some("/v1".into()))));
        assert_eq!(pick(on("api.example.com", "/v1?x=1")), Some((0, Some("/v1".into()))));
        // Several segments, and the longest base path wins.
        assert_eq!(
            pick(on("api.example.com", "/orders/v1/pets")),
            Some((1, Some("/orders/v1".into())))
        );
        // The root of a domain: nothing to remove.
        assert_eq!(pick(on("partners.example.com", "/v1/pets")), Some((1, None)));
        // Any domain.
        assert_eq!(pick(on("other.example.com", "/any/pets")), Some((0, Some("/any".into()))));
        // A base path is whole segments: `/v10` is not under `/v1`; then the execute-api form.
        assert_eq!(pick(on("api.example.com", "/beta/pets")), Some((1, Some("/beta".into()))));
        assert_eq!(pick(on("api.example.com", "/v10/pets")), None);
        assert_eq!(pick(request(None, "/v1/pets", None)), None);
    }

    #[test]
    fn one_stage_with_a_mapping_still_serves_its_execute_api_paths() {
        let d =
            deployment(json!({"base_path_mappings": [{"base_path": "shop/v2", "stage": "prod"}]}))
                .unwrap();
        assert!(d.needs_path() && !d.needs_authority() && !d.single());
        let s = d.select(&request(None, "/shop/v2/pets", None), 50.0).unwrap();
        assert_eq!(s.base_path.as_deref(), Some("/shop/v2"));
        let s = d.select(&request(None, "/prod/pets", None), 50.0).unwrap();
        assert_eq!((s.stage, s.base_path), (0, None));
    }

    #[test]
    fn bad_base_path_mappings_are_config_errors() {
        let cases = [
            (json!([{"base_path": "v1", "stage": "nope"}]), "base_path_mappings[0].stage"),
            (json!([{"base_path": "v 1", "stage": "prod"}]), "base_path_mappings[0].base_path"),
            (json!([{"base_path": "a//b", "stage": "prod"}]), "base_path_mappings[0].base_path"),
            (
                json!([{"domain_name": "bad_host", "base_path": "", "stage": "prod"}]),
                "base_path_mappings[0].domain_name",
            ),
            (
                json!([{"base_path": "v1", "stage": "prod"}, {"base_path": "/v1", "stage": "prod"}]),
                "base_path_mappings[1].base_path",
            ),
        ];
        for (mappings, path) in cases {
            let err = deployment(json!({"base_path_mappings": mappings})).unwrap_err();
            assert_eq!(err.path, path, "{err}");
        }
    }

    #[test]
    fn one_stage_serves_everything() {
        let d = deployment(json!({})).unwrap();
        let s = d.select(&request(None, "/dev/pets", None), 50.0).unwrap();
        assert_eq!(s, Selected { stage: 0, canary: false, base_path: None, mapped: false });
        assert_eq!(d.plan(&s).unwrap().stage, "prod");
        assert!(!d.needs_route_name());
    }

    #[test]
    fn stages_come_from_the_route_the_path_a_header_or_the_default() {
        let d = deployment(json!({
            "stages": [{"name": "dev", "variables": {"v": "d"}}, {"name": "prod", "variables": {"v": "p"}}, {"name": "v2"}],
            "stage_selection": {"header": "Accept-Version", "default": "prod"},
        }))
        .unwrap();
        let pick = |route, path, header| {
            d.select(&request(route, path, header), 99.0)
                .map(|s| (d.stages[s.stage].name.clone(), s.base_path))
        };
        assert_eq!(pick(Some("dev"), "/pets", None), Some(("dev".into(), None)));
        assert_eq!(
            pick(Some("other"), "/dev/pets?x=1", None),
            Some(("dev".into(), Some("/dev".into())))
        );
        assert_eq!(pick(None, "/prod", None), Some(("prod".into(), Some("/prod".into()))));
        assert_eq!(pick(None, "/pets", Some("v2")), Some(("v2".into(), None)));
        assert_eq!(pick(None, "/pets", None), Some(("prod".into(), None)));
        assert_eq!(
            d.plan(&d.select(&request(None, "/dev/x", None), 0.0).unwrap())
                .unwrap()
                .stage_variables["v"],
            "d"
        );
        let no_default =
            deployment(json!({"stages": [{"name": "dev"}, {"name": "prod"}]})).unwrap();
        assert_eq!(no_default.select(&request(None, "/pets", None), 1.0), None);
    }

    #[test]
    fn a_method_caches_only_on_the_stages_that_have_a_cache() {
        let d = deployment(json!({
            "stages": [{"name": "dev"}, {"name": "prod", "cache": {"enabled": false}}],
            "methods": [{"resource": "/pets", "http_method": "GET",
                         "cache": {"enabled": true, "ttl_seconds": 60}}],
        }))
        .unwrap();
        let cached: Vec<bool> =
            d.stages.iter().map(|s| s.plan.methods.iter().any(|m| m.cache.is_some())).collect();
        assert_eq!(cached, [false, true]);
        let err = deployment(json!({
            "stages": [{"name": "dev"}, {"name": "prod"}],
            "methods": [{"resource": "/pets", "http_method": "GET", "cache": {"enabled": true}}],
        }))
        .unwrap_err();
        assert!(err.to_string().contains("the stage has no cache"), "{err}");
    }

    #[test]
    fn canaries_take_their_share_with_their_overrides() {
        let d = deployment(
            json!({"stages": [{"name": "prod", "variables": {"backend": "v1", "keep": "k"},
            "canary": {"percent_traffic": 10.0, "stage_variable_overrides": {"backend": "v2"}}}]}),
        )
        .unwrap();
        let side = |roll| {
            let s = d.select(&request(None, "/prod/pets", None), roll).unwrap();
            let plan = d.plan(&s).unwrap();
            (
                s.canary,
                plan.stage_variables["backend"].clone(),
                plan.stage_variables["keep"].clone(),
            )
        };
        assert_eq!(side(9.99), (true, "v2".into(), "k".into()));
        assert_eq!(side(10.0), (false, "v1".into(), "k".into()));
    }

    #[test]
    fn a_variable_missing_in_one_stage_is_an_error_naming_it() {
        let err = deployment(json!({
            "stages": [{"name": "dev", "variables": {"host": "orders-dev"}}, {"name": "prod"}],
            "methods": [{"resource": "/o", "http_method": "GET", "integration":
                {"type": "HTTP_PROXY", "uri": "http://${stageVariables.host}/o"}}],
        }))
        .unwrap_err();
        assert_eq!(err.path, "methods[0].integration.uri");
        assert!(err.reason.contains("`host`") && err.reason.contains("stage `prod`"), "{err}");
    }

    #[test]
    fn bad_stage_configs_name_the_field() {
        let cases = [
            (json!({"stages": [{"name": "a"}, {"name": "a"}]}), "stages[1].name"),
            (json!({"stages": [{"name": "a b"}]}), "stages[0].name"),
            (
                json!({"stages": [{"name": "a", "canary": {"percent_traffic": 120.0}}]}),
                "stages[0].canary.percent_traffic",
            ),
            (
                json!({"stages": [{"name": "a"}], "stage_selection": {"default": "b"}}),
                "stage_selection.default",
            ),
            (
                json!({"stages": [{"name": "a"}], "stage_selection": {"header": "a b"}}),
                "stage_selection.header",
            ),
            (json!({"stages": [{"name": "a"}], "stage": {"name": "b"}}), "stage"),
        ];
        for (extra, path) in cases {
            let err = deployment(extra.clone()).unwrap_err();
            assert_eq!(err.path, path, "{extra}: {err}");
        }
    }
}

#[cfg(test)]
mod canary_cache_tests {
    use super::*;
    use crate::test_support::test;
    use serde_json::json;

    /// AWS's `useStageCache` (default false): a canary has a cache of its own unless it uses
    /// the stage's.
    #[test]
    fn a_canary_keeps_its_own_cache_unless_it_uses_the_stage_cache() {
        let key_of = |use_stage_cache: bool| {
            let config = json!({"api": {"id": "shop"},
                "stages": [{"name": "prod", "cache": {"enabled": true},
                            "canary": {"percent_traffic": 10.0, "use_stage_cache": use_stage_cache}}],
                "methods": [{"resource": "/pets", "http_method": "GET"}]});
            let deployment = Deployment::from_json(config.to_string().as_bytes()).unwrap();
            let stage = &deployment.stages[0];
            let key = |plan: &Plan| {
                let cache = plan.methods[0].cache.as_ref().expect("a cached method");
                cache.key("GET", "/pets", (&[], &[], &[])).shared
            };
            (key(&stage.plan), key(&stage.canary.as_ref().unwrap().plan))
        };
        let (stage, canary) = key_of(false);
        assert_ne!(stage, canary);
        assert!(canary.starts_with("tollgate.cache.shop.prod.canary."), "{canary}");
        let (stage, canary) = key_of(true);
        assert_eq!(stage, canary);
    }
}

#[cfg(test)]
mod compact_tests {
    use super::*;
    use crate::apikey::{hash_key_hex, KeyLookup};
    use crate::test_support::test;
    use serde_json::json;

    /// Hands the document over a few bytes at a time, as the filter reads it from Envoy.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn config(extra: serde_json::Value) -> String {
        let mut config = json!({
            "api": {"id": "shop"},
            "stages": [{"name": "prod", "canary": {"percent_traffic": 5.0}}, {"name": "dev"}],
            "methods": [{"resource": "/pets", "http_method": "GET", "api_key_required": true}],
            "api_keys": [
                {"id": "a", "value_sha256": hash_key_hex(b"alpha"), "usage_plan_ids": ["p", "d"]},
                {"id": "b", "value_sha256": hash_key_hex(b"beta"), "usage_plan_ids": ["d"]}
            ],
            "usage_plans": [
                {"id": "p", "api_stages": [{"api_id": "shop", "stage": "prod"}]},
                {"id": "d", "api_stages": [{"api_id": "shop", "stage": "dev"}]}
            ]
        });
        if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        config.to_string()
    }

    #[test]
    fn every_stage_and_canary_shares_one_key_table() {
        let text = config(json!({}));
        let d = Deployment::from_reader(Trickle(text.as_bytes())).unwrap();
        let prod = &d.stages[0];
        let table = prod.plan.keys.table();
        assert!(Rc::ptr_eq(table, prod.canary.as_ref().unwrap().plan.keys.table()));
        assert!(Rc::ptr_eq(table, d.stages[1].plan.keys.table()));
        // Each stage resolves a key's plan for itself.
        let plan_of =
            |stage: usize, value: &[u8]| match d.stages[stage].plan.keys.lookup(Some(value)) {
                KeyLookup::Valid(k) => k.plan,
                other => panic!("{other:?}"),
            };
        assert_eq!((plan_of(0, b"alpha"), plan_of(1, b"alpha")), (Some(0), Some(1)));
        assert_eq!((plan_of(0, b"beta"), plan_of(1, b"beta")), (None, Some(1)));
    }

    /// An error without the position serde_json adds (`at line 1 column 60`): read from a
    /// stream, a value's type error is placed one column later (after the value) than in a
    /// slice.
    fn without_position(e: &ConfigError) -> (&str, &str) {
        let reason = e.reason.rsplit_once(" at line ").map_or(e.reason.as_str(), |r| r.0);
        (e.path.as_str(), reason)
    }

    #[test]
    fn a_streamed_document_gives_the_same_errors() {
        let bad_key = json!({"api_keys": [{"id": "a", "value_sha256": "abc"}]});
        let unknown_plan = json!({"api_keys": [{"id": "a", "value_sha256": hash_key_hex(b"x"), "usage_plan_ids": ["nope"]}]});
        let cases = [
            config(json!({"api_keys": [{"id": "a", "value_sha256": 5}]})),
            config(
                json!({"api_keys": [{"id": "a", "value_sha256": hash_key_hex(b"x"), "colour": 1}]}),
            ),
            config(json!({"api_keys": {"id": "a"}})),
            config(json!({"api_keys": null})),
            config(bad_key),
            config(unknown_plan),
            config(json!({"api_keys": [], "colour": 1})),
            r#"{"api": {"id": "a"}, "api_keys": [{"id": "k""#.to_string(),
            r#"{"api": {"id": "a"} "api_keys": []}"#.to_string(),
        ];
        for text in cases {
            let whole = Deployment::from_json(text.as_bytes()).unwrap_err();
            let streamed = Deployment::from_reader(Trickle(text.as_bytes())).unwrap_err();
            assert_eq!(without_position(&streamed), without_position(&whole), "{text}");
            // As the CLI's `Config` (keys as a list) reads and compiles it.
            let listed = Config::from_json(text.as_bytes())
                .and_then(|c| Deployment::compile(&c, &|_| None))
                .unwrap_err();
            assert_eq!(listed, whole, "{text}");
        }
        let err = Deployment::from_json(
            config(json!({"api_keys": [{"id": "a", "value_sha256": "abc"}]})).as_bytes(),
        )
        .unwrap_err();
        assert_eq!(err.path, "api_keys[0].value_sha256");
        assert!(err.reason.ends_with("(stage `prod`)"), "{err}");
    }
}
