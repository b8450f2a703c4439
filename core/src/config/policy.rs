//! A policy document as AWS spells it in JSON: `{"Version", "Id", "Statement"}`, where every
//! list-valued field may also be written as a single value.
//!
//! This is only the shape; [`super::CompiledPolicy::compile`] checks the meaning (exactly one of
//! `Action`/`NotAction`, known condition operators and keys, parseable CIDRs and dates, ...).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// `{"Version": ..., "Id": ..., "Statement": ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct PolicyDocument {
    /// Absent means `2008-10-17`, as in AWS: policy variables are then plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<PolicyVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub statement: OneOrMany<Statement>,
}

impl PolicyDocument {
    /// Parses a policy on its own (outside a config); the error names the offending field.
    pub fn from_json(bytes: &[u8]) -> Result<PolicyDocument, ConfigError> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            ConfigError::new(if path == "." { String::new() } else { path }, inner.to_string())
        })
    }
}

/// The policy language versions AWS defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyVersion {
    /// The current language: `${...}` in resources and condition values is a policy variable.
    #[serde(rename = "2012-10-17")]
    V2012_10_17,
    /// The original language, without policy variables.
    #[serde(rename = "2008-10-17")]
    V2008_10_17,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement. Which of the optional fields must be present is checked at compile time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Statement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub effect: Effect,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_principal: Option<Principal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_action: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Conditions>,
}

/// `{"Operator": {"key": value-or-values}}`, in document order.
pub type Conditions = OrderedMap<OrderedMap<OneOrMany<ConditionValue>>>;

/// `"*"` (everyone, anonymous callers included) or `{"AWS": "arn-or-account" | [...]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Everyone,
    Aws(OneOrMany<String>),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AwsPrincipal<T> {
    #[serde(rename = "AWS")]
    aws: T,
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Principal::Everyone => serializer.serialize_str("*"),
            Principal::Aws(aws) => AwsPrincipal { aws }.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PrincipalVisitor;

        impl<'de> Visitor<'de> for PrincipalVisitor {
            type Value = Principal;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#""*" or {"AWS": "<arn or account id>" | [...]}"#)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Principal, E> {
                if v == "*" {
                    Ok(Principal::Everyone)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Principal, A::Error> {
                let principal: AwsPrincipal<OneOrMany<String>> =
                    Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Principal::Aws(principal.aws))
            }
        }

        deserializer.deserialize_any(PrincipalVisitor)
    }
}

/// A field AWS lets you write as one value or as an array; kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(one) => std::slice::from_ref(one),
            OneOrMany::Many(many) => many,
        }
    }
}

impl<T: Serialize> Serialize for OneOrMany<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OneOrMany::One(one) => one.serialize(serializer),
            OneOrMany::Many(many) => many.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OneOrManyVisitor(PhantomData))
    }
}

/// Hands a scalar or an object to `T` and an array to `Vec<T>`, so that errors come from `T`
/// itself (and name the field) rather than "did not match any variant".
struct OneOrManyVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
    type Value = OneOrMany<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or an array of values")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        T::deserialize(v.into_deserializer()).map(OneOrMany::One)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(OneOrMany::One)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut many = Vec::new();
        while let Some(item) = seq.next_element()? {
            many.push(item);
        }
        Ok(OneOrMany::Many(many))
    }
}

/// A JSON object kept in document order that refuses duplicate keys: with a plain map the last
/// of two `"StringEquals"` blocks would silently replace the first and loosen the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedMapVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedMapVisitor<V> {
            type Value = OrderedMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.iter().any(|(seen, _)| *seen == key) {
                        return Err(de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    let value = map.next_value()?;
                    entries.push((key, value));
                }
                Ok(OrderedMap(entries))
            }
        }

        deserializer.deserialize_map(OrderedMapVisitor(PhantomData))
    }
}

/// A condition value: AWS accepts strings, numbers and booleans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionValue {
    String(String),
    Bool(bool),
    Number(serde_json::Number),
}

impl fmt::Display for ConditionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConditionValue::String(s) => f.write_str(s),
            ConditionValue::Bool(b) => write!(f, "{b}"),
            ConditionValue::Number(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for ConditionValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ConditionValue::String(s) => serializer.serialize_str(s),
            ConditionValue::Bool(b) => serializer.serialize_bool(*b),
            ConditionValue::Number(n) => n.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ConditionValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;

        impl Visitor<'_> for ValueVisitor {
            type Value = ConditionValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConditionValue, E> {
                Ok(ConditionValue::Bool(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConditionValue, E> {
                Ok(ConditionValue::Number(v.into()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConditionValue, E> {
                Ok(ConditionValue::Number(v.into()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConditionValue, E> {
                serde_json::Number::from_f64(v)
                    .map(ConditionValue::Number)
                    .ok_or_else(|| E::custom("not a finite number"))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConditionValue, E> {
                Ok(ConditionValue::String(v.to_owned()))
            }
        }

        deserializer.deserialize_any(ValueVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test;

    fn parse(json: &str) -> Result<PolicyDocument, ConfigError> {
        PolicyDocument::from_json(json.as_bytes())
    }

    #[test]
    fn statement_may_be_one_object_or_an_array() {
        let one = parse(
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}}"#,
        )
        .unwrap();
        let many = parse(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}"#,
        )
        .unwrap();
        assert!(matches!(one.statement, OneOrMany::One(_)));
        assert!(matches!(many.statement, OneOrMany::Many(_)));
        assert_eq!(one.statement.as_slice(), many.statement.as_slice());
    }

    #[test]
    fn string_or_array_fields_and_round_trip() {
        let json = r#"{
            "Version": "2012-10-17",
            "Id": "petstore-policy",
            "Statement": [{
                "Sid": "AllowFromOffice",
                "Effect": "Allow",
                "Principal": {"AWS": ["123456789012", "arn:aws:iam::210987654321:role/Deploy"]},
                "Action": ["execute-api:Invoke", "execute-api:InvalidateCache"],
                "NotResource": "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/DELETE/*",
                "Condition": {
                    "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]},
                    "Bool": {"aws:SecureTransport": true},
                    "DateLessThan": {"aws:CurrentTime": 1795608000}
                }
            }, {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
                "Resource": "*"
            }]
        }"#;
        let doc = parse(json).unwrap();
        let OneOrMany::Many(statements) = &doc.statement else { panic!("an array") };
        let first = &statements[0];
        assert_eq!(first.action.as_ref().unwrap().as_slice().len(), 2);
        assert_eq!(
            first.not_resource,
            Some(OneOrMany::One(
                "arn:aws:execute-api:eu-west-1:123456789012:petstore/prod/DELETE/*".into()
            ))
        );
        let conditions = &first.condition.as_ref().unwrap().0;
        assert_eq!(conditions[1].1 .0[0].1, OneOrMany::One(ConditionValue::Bool(true)));
        assert_eq!(
            conditions[2].1 .0[0].1,
            OneOrMany::One(ConditionValue::Number(1_795_608_000.into()))
        );
        assert_eq!(statements[1].principal, Some(Principal::Everyone));

        let again: PolicyDocument =
            serde_json::from_str(&serde_json::to_string(&doc).unwrap()).unwrap();
        assert_eq!(again, doc);
    }

    #[test]
    fn shape_errors_name_the_field() {
        for (json, path, reason) in [
            (r#"{"Version": "2012-10-18", "Statement": []}"#, "Version", "unknown variant"),
            (r#"{"Statement": [], "Extra": 1}"#, "Extra", "unknown field"),
            (
                r#"{"Statement": [{"Effect": "Alow", "Action": "*", "Resource": "*"}]}"#,
                "Statement[0].Effect",
                "unknown variant `Alow`",
            ),
            (
                r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", "Actions": "*"}}"#,
                "Statement.Actions",
                "unknown field",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Action": 5, "Resource": "*"}]}"#,
                "Statement[0].Action",
                "expected a string",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "me"}]}"#,
                "Statement[0].Principal",
                "invalid value",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": {"Service": "x"}}]}"#,
                "Statement[0].Principal.Service",
                "unknown field",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": null}}}]}"#,
                "Statement[0].Condition.Bool.aws:SecureTransport",
                "invalid type: null",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": [{}]}}}]}"#,
                "Statement[0].Condition.Bool.aws:SecureTransport[0]",
                "expected a string, number or boolean",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}, "Bool": {}}}]}"#,
                "Statement[0].Condition",
                "duplicate key `Bool`",
            ),
            (r#"{"Statement": "x"}"#, "Statement", "expected struct Statement"),
        ] {
            let err = parse(json).unwrap_err();
            assert_eq!(err.path, path, "{json}: {err}");
            assert!(err.reason.contains(reason), "{json}: {err}");
        }
    }
}
