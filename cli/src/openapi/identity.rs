//! Which API a document describes: its id, region, account and stage.

use serde_json::Value;

use super::import::Options;
use super::{scalar, Notes, Version};

pub struct Identity {
    pub api_id: String,
    pub region: String,
    pub account_id: String,
    pub stage: String,
}

/// The API id, region and stage from `servers` (or `host` + `basePath`): an execute-api host
/// gives the id and region; the base path gives the stage. Else the title gives the id, the
/// first AWS ARN the region and the account.
pub fn identity(doc: &Value, version: Version, options: &Options, notes: &mut Notes) -> Identity {
    let (at, host, base) = match version {
        Version::Swagger2 => (
            "basePath",
            doc.get("host").map(scalar).unwrap_or_default(),
            doc.get("basePath").map(scalar).unwrap_or_default(),
        ),
        _ => {
            let server = doc.pointer("/servers/0");
            let mut url = server.and_then(|s| s.get("url")).map(scalar).unwrap_or_default();
            if let Some(Value::Object(vars)) = server.and_then(|s| s.get("variables")) {
                for (name, var) in vars {
                    let value = var.get("default").map(scalar).unwrap_or_default();
                    url = url.replace(&format!("{{{name}}}"), &value);
                }
            }
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            let (host, base) = match rest.find('/') {
                Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i..).unwrap_or_default()),
                None => (rest, ""),
            };
            ("servers[0].url", host.to_string(), base.to_string())
        }
    };
    let (arn_region, arn_account) = first_arn(doc);
    let title = || slug(&doc.pointer("/info/title").map(scalar).unwrap_or_default());
    let (api_id, host_region) = match execute_api_host(&host) {
        Some((id, region)) => {
            // An export written with placeholders (`{restApiId}.execute-api.{region}...`).
            let id = if is_name(&id) { id } else { title() };
            if !is_name(&region) {
                notes.unhonoured(
                    at,
                    format!(
                        "`{host}` names no region; the region is the document's ARNs', else \
                         us-east-1 (see --region)"
                    ),
                );
            }
            (id, Some(region).filter(|r| is_name(r)))
        }
        None => (title(), None),
    };
    let region =
        options.region.clone().or(host_region).or(arn_region).unwrap_or_else(|| "us-east-1".into());
    let segments: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    let stage = match (&options.stage, segments.as_slice()) {
        (Some(stage), _) => stage.clone(),
        (None, []) => "prod".into(),
        (None, [one]) if one.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) => {
            one.to_string()
        }
        (None, _) => {
            notes.unhonoured(
                at,
                format!(
                    "the base path `{base}` is not a stage name; the stage is `prod` (see --stage)"
                ),
            );
            "prod".into()
        }
    };
    Identity {
        api_id,
        region,
        account_id: options
            .account_id
            .clone()
            .or(arn_account)
            .unwrap_or_else(|| "000000000000".into()),
        stage,
    }
}

/// A region or an API id: letters, digits and `-`, not a `{placeholder}`.
fn is_name(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `abc123.execute-api.us-east-1.amazonaws.com` -> (`abc123`, `us-east-1`).
/// `{id}.execute-api.{region}.amazonaws.com[:port]` -> (id, region).
pub(crate) fn execute_api_host(host: &str) -> Option<(String, String)> {
    let host = host.split(':').next()?;
    let (id, rest) = host.split_once(".execute-api.")?;
    let region = rest.strip_suffix(".amazonaws.com")?;
    (!id.is_empty() && !region.is_empty()).then(|| (id.to_string(), region.to_string()))
}

fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "api".into()
    } else {
        out
    }
}

/// The region and 12-digit account of the first Lambda, Cognito or execute-api ARN in the
/// document (the ones an export writes back).
fn first_arn(value: &Value) -> (Option<String>, Option<String>) {
    match value {
        Value::String(s) => {
            let mut region = None;
            for (i, _) in s.match_indices("arn:aws:") {
                let mut parts = s.get(i + 8..).unwrap_or_default().splitn(4, ':');
                let (service, r, account) = (parts.next(), parts.next(), parts.next());
                if !matches!(service, Some("lambda" | "cognito-idp" | "execute-api")) {
                    continue;
                }
                let r = r.filter(|r| {
                    !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
                region = region.or(r.map(str::to_string));
                if let Some(a) =
                    account.filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
                {
                    return (region, Some(a.to_string()));
                }
            }
            (region, None)
        }
        Value::Array(items) => first_of(items.iter()),
        Value::Object(map) => first_of(map.values()),
        _ => (None, None),
    }
}

fn first_of<'a>(values: impl Iterator<Item = &'a Value>) -> (Option<String>, Option<String>) {
    let mut region = None;
    for v in values {
        let (r, a) = first_arn(v);
        region = region.or(r);
        if a.is_some() {
            return (region, a);
        }
    }
    (region, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_comes_from_the_server() {
        let doc = json!({"openapi": "3.0.1", "info": {"title": "Pet Store", "version": "1"},
            "servers": [{"url": "https://a1b2.execute-api.eu-west-1.amazonaws.com/{basePath}",
                         "variables": {"basePath": {"default": "/dev"}}}]});
        let mut notes = Notes::default();
        let id = identity(&doc, Version::OpenApi30, &Options::default(), &mut notes);
        assert_eq!(
            (id.api_id.as_str(), id.region.as_str(), id.stage.as_str()),
            ("a1b2", "eu-west-1", "dev")
        );
        let doc = json!({"swagger": "2.0", "info": {"title": "Pet Store!"}, "host": "pets.example.com",
                         "basePath": "/v1/x", "x": "arn:aws:lambda:us-west-2:123456789012:function:f"});
        let id = identity(&doc, Version::Swagger2, &Options::default(), &mut notes);
        assert_eq!((id.api_id.as_str(), id.region.as_str()), ("Pet-Store", "us-west-2"));
        assert_eq!((id.account_id.as_str(), id.stage.as_str()), ("123456789012", "prod"));
        assert_eq!(notes.report.len(), 1, "{:?}", notes.report);
    }
}
