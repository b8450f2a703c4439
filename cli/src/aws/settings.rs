//! Where a live account is read from, as the AWS CLI finds it: the region, the API Gateway
//! endpoint and the credentials, from an environment the tests give ([`Env`]).

use std::collections::BTreeMap;

use super::client::Source;

/// What the process environment gives: variables and the text of files.
pub(crate) struct Env<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub read: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'_> {
    /// A variable, unset when empty (as the AWS CLI takes it).
    fn var(&self, name: &str) -> Option<String> {
        (self.var)(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    /// `AWS_CONFIG_FILE`-like path: the variable, else `~/.aws/{file}`; `~/` is `$HOME/`.
    fn path(&self, variable: &str, file: &str) -> String {
        let home = self.var("HOME").unwrap_or_default();
        match self.var(variable) {
            Some(p) => match p.strip_prefix("~/") {
                Some(rest) => format!("{home}/{rest}"),
                None => p,
            },
            None => format!("{home}/.aws/{file}"),
        }
    }
}

/// An INI file: sections of `key = value`, keys lowercase. Lines starting with `#` or `;` are
/// comments; indented lines under a key are its sub-settings (`s3 =\n  max_... = 1`), skipped.
pub(crate) fn parse_ini(text: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let name = rest.split(']').next().unwrap_or_default().trim().to_string();
            sections.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        let (Some(section), Some((key, value)), false) =
            (&current, trimmed.split_once('='), indented)
        else {
            continue;
        };
        let section = sections.entry(section.clone()).or_default();
        section.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    sections
}

type Section = BTreeMap<String, String>;

/// One profile as both files hold it: `[name]` in the credentials file, `[profile name]` (or
/// `[default]`) in the config file.
#[derive(Debug, Default)]
struct Profile {
    credentials: Option<Section>,
    config: Option<Section>,
}

impl Profile {
    fn load(env: &Env<'_>, name: &str) -> Profile {
        let file = |variable, file| {
            (env.read)(&env.path(variable, file)).map(|t| parse_ini(&t)).unwrap_or_default()
        };
        let mut credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let mut config = file("AWS_CONFIG_FILE", "config");
        let named = config.remove(&format!("profile {name}"));
        let config = match name {
            "default" => named.or_else(|| config.remove("default")),
            _ => named,
        };
        Profile { credentials: credentials.remove(name), config }
    }

    /// A setting; the credentials file wins, as the AWS CLI merges the two.
    fn get(&self, key: &str) -> Option<&str> {
        [&self.credentials, &self.config]
            .into_iter()
            .flatten()
            .find_map(|s| s.get(key))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn exists(&self) -> bool {
        self.credentials.is_some() || self.config.is_some()
    }
}

/// A key pair and its session token. Never printed: `Debug` shows the key id only.
#[derive(Clone, PartialEq)]
pub(crate) struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("session_token", &self.session_token.as_ref().map(|_| "..."))
            .finish_non_exhaustive()
    }
}

/// `scheme://host[:port][/base]`, the `host` header being `host[:port]` as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Endpoint {
    pub origin: String,
    pub host: String,
    pub base: String,
}

impl Endpoint {
    pub(crate) fn parse(url: &str) -> Result<Endpoint, String> {
        let bad = || format!("endpoint '{url}' is not an http:// or https:// URL");
        let (scheme, rest) = url.trim().split_once("://").ok_or_else(bad)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(bad());
        }
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (host, base) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() || host.contains('@') {
            return Err(bad());
        }
        let base = base.trim_end_matches('/');
        Ok(Endpoint {
            origin: format!("{scheme}://{host}"),
            host: host.to_string(),
            base: if base.is_empty() { String::new() } else { format!("/{base}") },
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub region: String,
    pub endpoint: Endpoint,
    pub credentials: Credentials,
}

/// The region, endpoint and credentials, as the AWS CLI finds them.
pub(crate) fn settings(source: &Source, env: &Env<'_>) -> Result<Settings, String> {
    let named = source.profile.clone().or_else(|| env.var("AWS_PROFILE"));
    let name = named.clone().unwrap_or_else(|| "default".into());
    let profile = Profile::load(env, &name);
    if named.is_some() && !profile.exists() {
        return Err(format!(
            "profile '{name}' is in neither {} nor {}",
            env.path("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            env.path("AWS_CONFIG_FILE", "config")
        ));
    }
    let region = source
        .region
        .clone()
        .or_else(|| env.var("AWS_REGION"))
        .or_else(|| env.var("AWS_DEFAULT_REGION"))
        .or_else(|| profile.get("region").map(str::to_string))
        .ok_or_else(|| {
            format!(
                "no region: give --region, set AWS_REGION, or set region in profile '{name}' \
                 ({})",
                env.path("AWS_CONFIG_FILE", "config")
            )
        })?;
    if !region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!("region '{region}' is not a region name"));
    }
    let configured = || {
        let ignore = env.var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
        if ignore.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return None;
        }
        env.var("AWS_ENDPOINT_URL_API_GATEWAY")
            .or_else(|| env.var("AWS_ENDPOINT_URL"))
            .or_else(|| profile.get("endpoint_url").map(str::to_string))
    };
    let url = source
        .endpoint_url
        .clone()
        .or_else(configured)
        .unwrap_or_else(|| format!("https://apigateway.{region}.amazonaws.com"));
    let credentials = credentials(source.profile.is_some(), &name, &profile, env)?;
    Ok(Settings { region, endpoint: Endpoint::parse(&url)?, credentials })
}

/// What works, for the messages about what does not.
fn what_works(name: &str) -> String {
    format!(
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) and leave \
         --profile out, for instance after \
         `eval \"$(aws configure export-credentials --profile {name} --format env)\"`, or put \
         aws_access_key_id and aws_secret_access_key in the profile"
    )
}

/// The credential chain: the environment's keys (unless a profile was asked for by name), then
/// the profile's static keys. Profiles that get keys some other way are named, not followed.
fn credentials(
    explicit: bool,
    name: &str,
    profile: &Profile,
    env: &Env<'_>,
) -> Result<Credentials, String> {
    if !explicit {
        match (env.var("AWS_ACCESS_KEY_ID"), env.var("AWS_SECRET_ACCESS_KEY")) {
            (Some(access_key_id), Some(secret_access_key)) => {
                let session_token = env.var("AWS_SESSION_TOKEN");
                return Ok(Credentials { access_key_id, secret_access_key, session_token });
            }
            (Some(_), None) => {
                return Err("AWS_ACCESS_KEY_ID is set without AWS_SECRET_ACCESS_KEY".into())
            }
            (None, Some(_)) => {
                return Err("AWS_SECRET_ACCESS_KEY is set without AWS_ACCESS_KEY_ID".into())
            }
            (None, None) => {}
        }
    }
    let unsupported = |how: &str| {
        Err(format!(
            "profile '{name}' gets its credentials through {how}, which tollgate does not \
             follow: {}",
            what_works(name)
        ))
    };
    if profile.get("role_arn").is_some() {
        return unsupported("an assumed role (role_arn)");
    }
    if profile.get("web_identity_token_file").is_some() {
        return unsupported("a web identity token (web_identity_token_file)");
    }
    if env.var("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        return Err(format!(
            "AWS_WEB_IDENTITY_TOKEN_FILE asks for a web identity token, which tollgate does not \
             follow: {}",
            what_works(name)
        ));
    }
    let mut sso =
        [&profile.credentials, &profile.config].into_iter().flatten().flat_map(|s| s.keys());
    if let Some(key) = sso.find(|k| k.starts_with("sso_")) {
        return unsupported(&format!("IAM Identity Center ({key})"));
    }
    let from = |section: &Option<Section>| -> Result<Option<Credentials>, String> {
        let Some(section) = section else { return Ok(None) };
        let get = |key: &str| section.get(key).filter(|v| !v.is_empty()).cloned();
        match (get("aws_access_key_id"), get("aws_secret_access_key")) {
            (Some(access_key_id), Some(secret_access_key)) => Ok(Some(Credentials {
                access_key_id,
                secret_access_key,
                session_token: get("aws_session_token"),
            })),
            (Some(_), None) => {
                Err(format!("profile '{name}' has aws_access_key_id without aws_secret_access_key"))
            }
            _ => Ok(None),
        }
    };
    if let Some(found) = from(&profile.credentials)? {
        return Ok(found);
    }
    if profile.get("credential_process").is_some() {
        return unsupported("a program (credential_process)");
    }
    if let Some(found) = from(&profile.config)? {
        return Ok(found);
    }
    let container =
        ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    let elsewhere = match container.iter().any(|v| env.var(v).is_some()) {
        true => " (container credentials are not followed)",
        false => " (instance roles are not followed)",
    };
    Err(format!("no AWS credentials found for profile '{name}'{elsewhere}: {}", what_works(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings from these variables and files (by path), nothing from the real machine.
    fn settings_with(
        source: &Source,
        vars: &[(&str, &str)],
        files: &[(&str, &str)],
    ) -> Result<Settings, String> {
        let var = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string());
        let read = |path: &str| files.iter().find(|(p, _)| *p == path).map(|(_, t)| t.to_string());
        settings(source, &Env { var: &var, read: &read })
    }

    const HOME: (&str, &str) = ("HOME", "/home/u");
    const CREDS: &str = "/home/u/.aws/credentials";
    const CONFIG: &str = "/home/u/.aws/config";

    fn keys(id: &str) -> String {
        format!("aws_access_key_id = {id}\naws_secret_access_key = s-{id}\n")
    }

    fn region_only() -> Source {
        Source { region: Some("eu-west-1".into()), ..Source::default() }
    }

    #[test]
    fn ini_sections_comments_and_sub_settings() {
        let text = "# top\n[default]\nregion = us-east-1 \n; note\n  [profile  dev ]  # why\n\
                    AWS_Access_Key_Id=AK\ns3 =\n  aws_access_key_id = nested\nempty =\nbad line\n";
        let ini = parse_ini(text);
        assert_eq!(ini["default"]["region"], "us-east-1");
        assert_eq!(ini["profile  dev"]["aws_access_key_id"], "AK");
        assert_eq!(ini["profile  dev"]["s3"], "");
        assert_eq!(ini["profile  dev"]["empty"], "");
        assert_eq!(ini["profile  dev"].len(), 3);
        assert!(parse_ini("key = before any section\n").is_empty());
    }

    #[test]
    fn environment_keys_come_first_unless_a_profile_is_named() {
        let vars = [
            HOME,
            ("AWS_ACCESS_KEY_ID", "ENV"),
            ("AWS_SECRET_ACCESS_KEY", "s-ENV"),
            ("AWS_SESSION_TOKEN", "tok"),
        ];
        let creds = format!("[default]\n{}[dev]\n{}", keys("F"), keys("DEV"));
        let files = &[(CREDS, creds.as_str())];
        let env = settings_with(&region_only(), &vars, files).unwrap().credentials;
        assert_eq!(env.access_key_id, "ENV");
        assert_eq!(env.session_token.as_deref(), Some("tok"));
        let named = Source { profile: Some("dev".into()), ..region_only() };
        let dev = settings_with(&named, &vars, files).unwrap().credentials;
        assert_eq!((dev.access_key_id.as_str(), dev.session_token), ("DEV", None));
        // AWS_PROFILE picks the profile but the environment's keys still win, as in the CLI.
        let vars_profile = [vars[0], vars[1], vars[2], ("AWS_PROFILE", "dev")];
        let via = settings_with(&region_only(), &vars_profile, files).unwrap().credentials;
        assert_eq!(via.access_key_id, "ENV");
        let only_id = [HOME, ("AWS_ACCESS_KEY_ID", "ENV")];
        let err = settings_with(&region_only(), &only_id, files).unwrap_err();
        assert!(err.contains("without AWS_SECRET_ACCESS_KEY"), "{err}");
    }

    #[test]
    fn profile_is_source_then_aws_profile_then_default() {
        let creds = format!("[default]\n{}[a]\n{}[b]\n{}", keys("D"), keys("A"), keys("B"));
        let files = [(CREDS, creds.as_str())];
        let id = |source: &Source, vars: &[(&str, &str)]| {
            settings_with(source, vars, &files).unwrap().credentials.access_key_id
        };
        assert_eq!(id(&region_only(), &[HOME]), "D");
        assert_eq!(id(&region_only(), &[HOME, ("AWS_PROFILE", "b")]), "B");
        let a = Source { profile: Some("a".into()), ..region_only() };
        assert_eq!(id(&a, &[HOME, ("AWS_PROFILE", "b")]), "A");
        let none = Source { profile: Some("nope".into()), ..region_only() };
        let err = settings_with(&none, &[HOME], &files).unwrap_err();
        assert_eq!(
            err,
            "profile 'nope' is in neither /home/u/.aws/credentials nor /home/u/.aws/config"
        );
    }

    #[test]
    fn credentials_file_beats_config_file_and_paths_follow_the_variables() {
        let config = format!("[default]\nregion = us-west-2\n[profile p]\n{}", keys("CONF"));
        let creds = format!("[p]\n{}aws_session_token = t\n", keys("CRED"));
        let files = [(CREDS, creds.as_str()), (CONFIG, config.as_str())];
        let p = Source { profile: Some("p".into()), ..region_only() };
        let got = settings_with(&p, &[HOME], &files).unwrap().credentials;
        assert_eq!((got.access_key_id.as_str(), got.session_token.as_deref()), ("CRED", Some("t")));
        let conf_only = [(CONFIG, config.as_str())];
        let got = settings_with(&p, &[HOME], &conf_only).unwrap().credentials;
        assert_eq!(got.access_key_id, "CONF");
        assert_eq!(got.secret_access_key, "s-CONF");
        // `[default]` or `[profile default]` in the config file; `[p]` there is not a profile.
        let vars =
            [HOME, ("AWS_CONFIG_FILE", "~/elsewhere"), ("AWS_SHARED_CREDENTIALS_FILE", "/c")];
        let moved = [
            ("/home/u/elsewhere", "[profile default]\nregion = ap-south-1\n[p]\n"),
            ("/c", "[default]\naws_access_key_id=K\naws_secret_access_key=S\n"),
        ];
        let got = settings_with(&Source::default(), &vars, &moved).unwrap();
        assert_eq!(
            (got.region.as_str(), got.credentials.access_key_id.as_str()),
            ("ap-south-1", "K")
        );
        let err = settings_with(&p, &vars, &moved).unwrap_err();
        assert!(err.starts_with("profile 'p' is in neither /c nor /home/u/elsewhere"), "{err}");
    }

    #[test]
    fn profiles_that_get_keys_another_way_are_named() {
        for (setting, named) in [
            ("sso_start_url = https://x.awsapps.com/start", "sso_start_url"),
            ("sso_session = corp", "sso_session"),
            ("credential_process = /bin/keys", "credential_process"),
            ("role_arn = arn:aws:iam::123456789012:role/r\nsource_profile = default", "role_arn"),
            ("web_identity_token_file = /t", "web_identity_token_file"),
        ] {
            let config = format!("[profile x]\nregion = us-east-1\n{setting}\n");
            let x = Source { profile: Some("x".into()), ..Source::default() };
            let err = settings_with(&x, &[HOME], &[(CONFIG, &config)]).unwrap_err();
            assert!(err.contains(named) && err.contains("AWS_ACCESS_KEY_ID"), "{err}");
        }
        let web = [HOME, ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token")];
        let err = settings_with(&region_only(), &web, &[]).unwrap_err();
        assert!(err.starts_with("AWS_WEB_IDENTITY_TOKEN_FILE asks for"), "{err}");
        let err = settings_with(&region_only(), &[HOME], &[]).unwrap_err();
        assert!(err.starts_with("no AWS credentials found for profile 'default'"), "{err}");
        assert!(err.contains("export-credentials --profile default --format env"), "{err}");
        assert!(
            err.contains("aws_access_key_id and aws_secret_access_key in the profile"),
            "{err}"
        );
        let half = "[default]\naws_access_key_id = A\n";
        let err = settings_with(&region_only(), &[HOME], &[(CREDS, half)]).unwrap_err();
        assert!(err.contains("aws_access_key_id without aws_secret_access_key"), "{err}");
    }

    #[test]
    fn region_is_source_then_variables_then_profile() {
        let files = [
            (CONFIG, "[default]\nregion = from-profile\n"),
            (CREDS, "[default]\naws_access_key_id=A\naws_secret_access_key=S\n"),
        ];
        let region = |source: &Source, vars: &[(&str, &str)]| {
            settings_with(source, vars, &files).map(|s| s.region)
        };
        let both = [HOME, ("AWS_REGION", "r1"), ("AWS_DEFAULT_REGION", "r2")];
        assert_eq!(region(&region_only(), &both).unwrap(), "eu-west-1");
        assert_eq!(region(&Source::default(), &both).unwrap(), "r1");
        assert_eq!(
            region(&Source::default(), &[HOME, ("AWS_DEFAULT_REGION", "r2")]).unwrap(),
            "r2"
        );
        assert_eq!(
            region(&Source::default(), &[HOME, ("AWS_REGION", "")]).unwrap(),
            "from-profile"
        );
        let err = settings_with(&Source::default(), &[HOME], &files[1..]).unwrap_err();
        assert!(err.starts_with("no region: give --region, set AWS_REGION"), "{err}");
        let odd = Source { region: Some("us-east-1/x".into()), ..Source::default() };
        assert!(region(&odd, &[HOME]).unwrap_err().contains("not a region name"));
    }

    #[test]
    fn endpoint_is_source_then_variables_then_profile_then_aws() {
        let config = "[default]\nendpoint_url = http://profile:1\n";
        let files = [
            (CONFIG, config),
            (CREDS, "[default]\naws_access_key_id=A\naws_secret_access_key=S\n"),
        ];
        let origin = |source: &Source, vars: &[(&str, &str)]| {
            settings_with(source, vars, &files).unwrap().endpoint.origin
        };
        let all = [
            HOME,
            ("AWS_ENDPOINT_URL_API_GATEWAY", "http://svc:2"),
            ("AWS_ENDPOINT_URL", "http://any:3"),
        ];
        let flag = Source { endpoint_url: Some("http://flag:4".into()), ..region_only() };
        assert_eq!(origin(&flag, &all), "http://flag:4");
        assert_eq!(origin(&region_only(), &all), "http://svc:2");
        assert_eq!(origin(&region_only(), &[HOME, all[2]]), "http://any:3");
        assert_eq!(origin(&region_only(), &[HOME]), "http://profile:1");
        let ignore = [HOME, all[1], ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")];
        assert_eq!(origin(&region_only(), &ignore), "https://apigateway.eu-west-1.amazonaws.com");
        assert_eq!(origin(&flag, &ignore), "http://flag:4");
    }

    #[test]
    fn endpoints_parse_into_origin_host_and_base() {
        let e = Endpoint::parse("HTTP://127.0.0.1:5055/").unwrap();
        assert_eq!(
            (e.origin.as_str(), e.host.as_str(), e.base.as_str()),
            ("http://127.0.0.1:5055", "127.0.0.1:5055", "")
        );
        let e = Endpoint::parse("https://proxy.example/aws/apigw/").unwrap();
        assert_eq!((e.host.as_str(), e.base.as_str()), ("proxy.example", "/aws/apigw"));
        for bad in ["apigateway.us-east-1.amazonaws.com", "ftp://x", "https://", "https://u:p@x"] {
            assert!(Endpoint::parse(bad).unwrap_err().contains("is not an http"), "{bad}");
        }
    }
}
