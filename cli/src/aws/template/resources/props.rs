//! A resource's properties, read one at a time and typed as API Gateway answers them.

use std::borrow::Cow;

use serde_json::{json, Map, Value};

use crate::aws::template::intrinsics::{flag, intrinsic, scalar_text};
use crate::aws::template::{Report, Template};
use crate::openapi::join;

/// A map of properties (a resource's, or one nested in them), read one at a time so that what
/// is not read is not worked out.
pub(super) struct Props<'a> {
    pub(super) t: &'a Template,
    pub(super) at: String,
    pub(super) map: Cow<'a, Map<String, Value>>,
}

impl<'a> Props<'a> {
    pub(super) fn of(
        t: &'a Template,
        at: String,
        value: &'a Value,
    ) -> Result<Option<Props<'a>>, String> {
        match value {
            Value::Object(map) if intrinsic(map).is_none() => {
                Ok(Some(Props { t, at, map: Cow::Borrowed(map) }))
            }
            other => match t.resolve(other, &at)? {
                Some(Value::Object(map)) => Ok(Some(Props { t, at, map: Cow::Owned(map) })),
                None | Some(Value::Null) => Ok(None),
                Some(_) => Err(format!("{at}: not a map")),
            },
        }
    }

    pub(super) fn at(&self, key: &str) -> String {
        join(&self.at, key)
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub(super) fn get(&self, key: &str) -> Result<Option<Value>, String> {
        self.get_as(key, key)
    }

    /// `key`, named `label` in messages.
    pub(super) fn get_as(&self, key: &str, label: &str) -> Result<Option<Value>, String> {
        match self.map.get(key) {
            Some(value) => Ok(self.t.resolve(value, &self.at(label))?.filter(|v| !v.is_null())),
            None => Ok(None),
        }
    }

    pub(super) fn text(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key)? {
            Some(value) => {
                scalar_text(&value).map(Some).ok_or_else(|| format!("{}: not a text", self.at(key)))
            }
            None => Ok(None),
        }
    }

    pub(super) fn required(&self, key: &str) -> Result<String, String> {
        self.text(key)?.ok_or_else(|| format!("{}: missing", self.at(key)))
    }

    pub(super) fn nested(&self, key: &str) -> Result<Option<Props<'_>>, String> {
        match self.map.get(key) {
            Some(value) => Props::of(self.t, self.at(key), value),
            None => Ok(None),
        }
    }

    /// A list of maps.
    pub(super) fn items(&self, key: &str) -> Result<Vec<Props<'_>>, String> {
        let at = self.at(key);
        match self.map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    out.extend(Props::of(self.t, format!("{at}[{i}]"), item)?);
                }
                Ok(out)
            }
            Some(other) => {
                let mut out = Vec::new();
                for (i, item) in self.t.list(other, &at)?.into_iter().enumerate() {
                    match item {
                        Value::Object(map) => out.push(Props {
                            t: self.t,
                            at: format!("{at}[{i}]"),
                            map: Cow::Owned(map),
                        }),
                        _ => return Err(format!("{at}[{i}]: not a map")),
                    }
                }
                Ok(out)
            }
        }
    }

    /// `keys` worked out, under their camelCase names, typed as API Gateway answers them.
    pub(super) fn camel(&self, keys: &[&str]) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        for key in keys {
            if let Some(value) = self.get(key)? {
                out.insert(lower_camel(key), typed(key, value));
            }
        }
        Ok(out)
    }

    /// Reports each property that is neither read nor ignored.
    pub(super) fn unread(&self, read: &[&str], report: &mut Report) {
        for key in self.map.keys() {
            if !read.contains(&key.as_str()) && key != "Tags" {
                report.add(self.at(key), "not read: the gateway has no such setting");
            }
        }
    }
}

/// `ThrottlingRateLimit` -> `throttlingRateLimit`; `ProviderARNs` -> `providerARNs`.
fn lower_camel(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

const NUMBERS: [&str; 11] = [
    "ThrottlingRateLimit",
    "ThrottlingBurstLimit",
    "CacheTtlInSeconds",
    "PercentTraffic",
    "Limit",
    "Offset",
    "RateLimit",
    "BurstLimit",
    "TimeoutInMillis",
    "AuthorizerResultTtlInSeconds",
    "MinimumCompressionSize",
];
const FLAGS: [&str; 11] = [
    "CachingEnabled",
    "CacheDataEncrypted",
    "DataTraceEnabled",
    "MetricsEnabled",
    "UseStageCache",
    "Enabled",
    "ValidateRequestBody",
    "ValidateRequestParameters",
    "ApiKeyRequired",
    "CacheClusterEnabled",
    "TracingEnabled",
];

/// CloudFormation takes `"100"` and `"true"` where API Gateway answers 100 and true.
pub(super) fn typed(key: &str, value: Value) -> Value {
    match value {
        Value::String(s) if NUMBERS.contains(&key) => {
            if let Ok(i) = s.parse::<i64>() {
                json!(i)
            } else if let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Value::Number(n)
            } else {
                Value::String(s)
            }
        }
        Value::String(s) if FLAGS.contains(&key) => {
            flag(&json!(s)).map(Value::Bool).unwrap_or(Value::String(s))
        }
        other => other,
    }
}
