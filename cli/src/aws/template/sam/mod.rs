//! SAM: `AWS::Serverless::Api` and the functions' `Api` events -> CloudFormation resources, as
//! aws-sam-translator makes them (samtranslator/model/api/api_generator.py, swagger/swagger.py,
//! model/eventsources/push.py).

mod auth;
mod document;
mod events;
mod generate;
mod openapi;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::intrinsics::intrinsic;
use super::load::load;
use super::{Report, Template, HTTP_API};
use crate::openapi::{join, scalar};
use generate::shared_usage_plan_resources;
use openapi::{is_openapi, is_openapi3};

const IMPLICIT_API: &str = "ServerlessRestApi";

/// What the expansion adds to the template.
#[derive(Default)]
struct Generated {
    resources: Map<String, Value>,
    aliases: BTreeMap<String, String>,
    origins: BTreeMap<String, String>,
    definition_bodies: BTreeSet<String>,
    /// `CreateUsagePlan: SHARED`: one plan and one key for all the APIs that ask for it.
    shared_stages: Vec<Value>,
    shared_plan: Option<(Map<String, Value>, String)>,
}

impl Generated {
    fn add(&mut self, id: &str, kind: &str, properties: Value, api: &SamApi, origin: &str) {
        let mut resource = json!({"Type": kind, "Properties": properties});
        if let (Some(condition), Some(map)) = (&api.condition, resource.as_object_mut()) {
            map.insert("Condition".into(), condition.clone());
        }
        self.resources.insert(id.to_string(), resource);
        self.origins.insert(id.to_string(), origin.to_string());
    }
}

pub(super) fn expand_sam(t: &mut Template, report: &mut Report) -> Result<(), String> {
    let mut apis = BTreeMap::new();
    let mut generated = Generated::default();
    for (id, resource) in &t.resources {
        if t.kind(id) == "AWS::Serverless::Api" && t.holds(id, resource)? {
            apis.insert(id.clone(), SamApi::new(t, id, resource)?);
        } else if t.kind(id) == "AWS::Serverless::HttpApi" {
            report.add(format!("Resources.{id}"), HTTP_API);
        }
    }
    // Functions first: their events write the implicit API's document (as SAM orders them).
    for (id, resource) in &t.resources {
        if t.kind(id) == "AWS::Serverless::Function" && t.holds(id, resource)? {
            add_events(t, id, resource, &mut apis, &mut generated, report)?;
        }
    }
    for api in apis.into_values() {
        api.generate(t, &mut generated, report)?;
    }
    if let Some((plan, origin)) = generated.shared_plan.take() {
        for (id, kind, properties) in shared_usage_plan_resources(plan, &generated.shared_stages) {
            generated.resources.insert(id.into(), json!({"Type": kind, "Properties": properties}));
            generated.origins.insert(id.into(), origin.clone());
        }
    }
    t.resources
        .retain(|_, r| r.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Api"));
    t.resources.extend(generated.resources);
    t.aliases.extend(generated.aliases);
    t.origins.extend(generated.origins);
    t.definition_bodies.extend(generated.definition_bodies);
    Ok(())
}

const NOT_A_SAM_API: &str = "must name an AWS::Serverless::Api of the template (`!Ref MyApi`)";

/// SAM's Globals merge: maps merged, lists concatenated, the resource's value first otherwise.
fn merged(global: Option<&Value>, local: &Value) -> Value {
    match (global, local) {
        (Some(Value::Object(g)), Value::Object(l))
            if intrinsic(g).is_none() && intrinsic(l).is_none() =>
        {
            let mut out = g.clone();
            for (key, value) in l {
                let merged = merged(g.get(key), value);
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Some(Value::Array(g)), Value::Array(l)) => {
            Value::Array(g.iter().chain(l).cloned().collect())
        }
        _ => local.clone(),
    }
}

/// A function's `Api` events, added to the document of the API each names.
fn add_events(
    t: &Template,
    id: &str,
    resource: &Value,
    apis: &mut BTreeMap<String, SamApi>,
    generated: &mut Generated,
    report: &mut Report,
) -> Result<(), String> {
    let empty = json!({});
    let properties =
        merged(t.globals.get("Function"), resource.get("Properties").unwrap_or(&empty));
    let at = format!("Resources.{id}.Properties");
    // With an alias, SAM points the events at it (`${MyFunctionAliaslive}`).
    let target = match properties.get("AutoPublishAlias") {
        Some(alias) => {
            let alias = t.text(alias, &join(&at, "AutoPublishAlias"))?;
            let alias_id = format!("{id}Alias{}", alias.replace(['-', '_'], ""));
            let alias_props = json!({"FunctionName": {"Ref": id}, "Name": alias});
            generated.resources.insert(
                alias_id.clone(),
                json!({"Type": "AWS::Lambda::Alias", "Properties": alias_props}),
            );
            generated.aliases.insert(format!("{id}.Alias"), alias_id.clone());
            format!("${{{alias_id}}}")
        }
        None => format!("${{{id}.Arn}}"),
    };
    let Some(Value::Object(events)) = properties.get("Events") else { return Ok(()) };
    for (name, event) in events {
        let here = format!("{at}.Events.{name}");
        match event.get("Type").map(scalar).as_deref() {
            Some("Api") => {
                let props = event.get("Properties").cloned().unwrap_or_else(|| json!({}));
                let api_id = match props.get("RestApiId") {
                    None => IMPLICIT_API.to_string(),
                    Some(Value::String(api)) => api.clone(),
                    Some(other) => match other.get("Ref").and_then(Value::as_str) {
                        Some(api) => api.to_string(),
                        None => {
                            return Err(format!("{here}.Properties.RestApiId: {NOT_A_SAM_API}"))
                        }
                    },
                };
                if api_id == IMPLICIT_API && !apis.contains_key(IMPLICIT_API) {
                    apis.insert(IMPLICIT_API.into(), SamApi::implicit(t)?);
                }
                let api = apis.get_mut(&api_id).ok_or_else(|| {
                    format!("{here}.Properties.RestApiId: `{api_id}`: {NOT_A_SAM_API}")
                })?;
                api.add_event(t, &target, &props, &here, report)?;
            }
            Some("HttpApi") => report.add(here, HTTP_API),
            _ => {}
        }
    }
    Ok(())
}

/// One `AWS::Serverless::Api` (or the implicit `ServerlessRestApi`) being expanded.
struct SamApi {
    id: String,
    /// `Resources.{id}.Properties`.
    at: String,
    /// The properties, with `Globals.Api`.
    props: Map<String, Value>,
    /// `Auth`, worked out.
    auth: Map<String, Value>,
    condition: Option<Value>,
    /// The OpenAPI document (`DefinitionBody`, the `DefinitionUri` file, or SAM's own).
    body: Value,
    /// SAM writes the document from the events (no DefinitionBody or DefinitionUri given).
    managed: bool,
    /// The document is an inline OpenAPI map SAM can edit (Auth, Cors, Models...).
    editable: bool,
    /// The document is `DefinitionUri`'s file, which SAM hands to API Gateway untouched.
    from_file: bool,
}

impl SamApi {
    fn new(t: &Template, id: &str, resource: &Value) -> Result<SamApi, String> {
        let empty = json!({});
        let local = resource.get("Properties").unwrap_or(&empty);
        let at = format!("Resources.{id}.Properties");
        SamApi::of(t, id, at, local, resource.get("Condition").cloned())
    }

    /// `ServerlessRestApi`: stage `Prod`, SAM's own document, `Globals.Api`.
    fn implicit(t: &Template) -> Result<SamApi, String> {
        let local = json!({"StageName": "Prod"});
        SamApi::of(t, IMPLICIT_API, "Globals.Api".into(), &local, None)
    }

    fn of(
        t: &Template,
        id: &str,
        at: String,
        local: &Value,
        condition: Option<Value>,
    ) -> Result<SamApi, String> {
        let Value::Object(props) = merged(t.globals.get("Api"), local) else {
            return Err(format!("{at}: not a map"));
        };
        let (body, managed, editable, from_file) =
            match (props.get("DefinitionBody"), props.get("DefinitionUri")) {
                (Some(_), Some(_)) => {
                    return Err(format!("{at}: give DefinitionBody or DefinitionUri, not both"))
                }
                (Some(body), None) => (body.clone(), false, is_openapi(body), false),
                (None, Some(uri)) => {
                    (t.definition_file(uri, &join(&at, "DefinitionUri"))?, false, false, true)
                }
                (None, None) => (skeleton(props.get("OpenApiVersion")), true, true, false),
            };
        let auth = match props.get("Auth") {
            Some(auth) => match t.resolve(auth, &join(&at, "Auth"))? {
                Some(Value::Object(auth)) => auth,
                _ => return Err(format!("{at}.Auth: not a map")),
            },
            None => Map::new(),
        };
        Ok(SamApi { id: id.into(), at, props, auth, condition, body, managed, editable, from_file })
    }

    fn prop(&self, name: &str) -> Option<&Value> {
        self.props.get(name)
    }

    fn authorizers(&self) -> Option<&Map<String, Value>> {
        self.auth.get("Authorizers").and_then(Value::as_object)
    }

    /// SAM refuses its document features on a document it cannot edit.
    fn require_editable(&self, feature: &str) -> Result<(), String> {
        if self.editable {
            return Ok(());
        }
        Err(format!(
            "{}.{feature}: SAM adds {feature} only to an inline OpenAPI document in \
             DefinitionBody (SAM refuses this template too)",
            self.at
        ))
    }
}

impl Template {
    /// `DefinitionUri`: a local file (as `sam deploy` uploads it); S3 is refused.
    fn definition_file(&self, uri: &Value, at: &str) -> Result<Value, String> {
        match uri {
            Value::String(path) if !path.contains("://") => load(&self.dir.join(path), 1),
            _ => Err(format!(
                "{at}: the OpenAPI document is in S3: download it and give its path, or put it \
                 in DefinitionBody"
            )),
        }
    }
}

/// SAM's document for an API it writes from the events.
fn skeleton(version: Option<&Value>) -> Value {
    let mut doc = json!({
        "swagger": "2.0",
        "info": {"version": "1.0", "title": {"Ref": "AWS::StackName"}},
        "paths": {},
    });
    let version = version.map(scalar).filter(|v| is_openapi3(v));
    if let (Some(version), Some(map)) = (version, doc.as_object_mut()) {
        map.remove("swagger");
        map.insert("openapi".into(), json!(version));
    }
    doc
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::openapi::ANY_METHOD;
    use crate::aws::template::test_support::{fixture, reported, stage_names};
    use crate::aws::template::{read, Options};
    use crate::aws::text;

    #[test]
    fn sam_template_with_implicit_and_explicit_apis() {
        let options = Options { stack_name: Some("pets".into()), ..Options::default() };
        let (account, report) = read(&fixture("sam-pets.yaml"), &options).unwrap();
        let ids: Vec<&str> = account.rest_apis.iter().map(|a| text(&a.api, "id")).collect();
        assert_eq!(ids, ["OrdersApi", "ServerlessRestApi"]);

        // The implicit API: the functions' events, stage Prod and SAM's extra `Stage`.
        let implicit = &account.rest_apis[1];
        assert_eq!(implicit.api, json!({"id": "ServerlessRestApi", "name": "pets"}));
        assert_eq!(stage_names(implicit), ["Prod", "Stage"]);
        let doc = &implicit.exports["Prod"];
        assert_eq!(
            (doc["host"].as_str(), doc["basePath"].as_str()),
            (Some("ServerlessRestApi.execute-api.us-east-1.amazonaws.com"), Some("/Prod"))
        );
        let list = &doc["paths"]["/pets"]["get"];
        assert_eq!(
            list["x-amazon-apigateway-integration"],
            json!({"type": "aws_proxy", "httpMethod": "POST",
                   "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:ListPets/invocations"})
        );
        assert_eq!(list["security"], json!([{"api_key": []}]));
        let get = &doc["paths"]["/pets/{petId}"][ANY_METHOD];
        assert!(get["x-amazon-apigateway-integration"]["uri"]
            .as_str()
            .unwrap()
            .contains(":function:get-pet/"));
        assert_eq!(
            get["x-amazon-apigateway-integration"]["cacheKeyParameters"],
            json!(["method.request.querystring.verbose"])
        );
        assert_eq!(doc["securityDefinitions"]["api_key"]["name"], "x-api-key");
        assert_eq!(implicit.exports["Stage"]["basePath"], "/Stage");

        // The explicit API: its own document, with SAM's auth, CORS and responses added.
        let orders = &account.rest_apis[0];
        assert_eq!(
            orders.api,
            json!({"id": "OrdersApi", "name": "orders", "binaryMediaTypes": ["image/png"]})
        );
        assert_eq!(stage_names(orders), ["v1", "Stage"]);
        assert_eq!(
            orders.stages[0],
            json!({"stageName": "v1", "variables": {"backend": "orders"}, "methodSettings": {
                "*/*": {"throttlingRateLimit": 100, "throttlingBurstLimit": 50},
                "orders/POST": {"throttlingRateLimit": 5, "throttlingBurstLimit": 10}}})
        );
        let doc = &orders.exports["v1"];
        assert_eq!(
            doc["servers"],
            json!([{"url": "https://OrdersApi.execute-api.us-east-1.amazonaws.com/v1"}])
        );
        let orders_uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:pets-orders/invocations";
        assert_eq!(
            doc["paths"]["/orders"]["get"]["x-amazon-apigateway-integration"]["uri"],
            orders_uri
        );
        assert_eq!(
            doc["paths"]["/orders"]["post"]["x-amazon-apigateway-integration"]["uri"],
            orders_uri
        );
        assert_eq!(
            doc["paths"]["/orders"]["post"]["security"],
            json!([{"TokenAuth": []}, {"api_key": []}])
        );
        assert_eq!(doc["paths"]["/orders"]["options"]["security"], Value::Null);
        let authorizer =
            &doc["components"]["securitySchemes"]["TokenAuth"]["x-amazon-apigateway-authorizer"];
        assert_eq!(authorizer["authorizerUri"], "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:orders-authorizer/invocations");
        assert_eq!(doc["x-amazon-apigateway-gateway-responses"]["THROTTLED"]["statusCode"], "429");

        // The plan SAM makes, the key the template gives, the domain.
        assert_eq!(account.usage_plans.len(), 1);
        assert_eq!(
            account.usage_plans[0].plan,
            json!({"id": "OrdersApiUsagePlan", "name": "orders-basic", "throttle": {"rateLimit": 10, "burstLimit": 20},
                   "quota": {"limit": 1000, "period": "DAY"}, "apiStages": [{"apiId": "OrdersApi", "stage": "v1"}]})
        );
        assert_eq!(
            account.usage_plans[0].keys,
            [json!({"id": "PartnerKey", "type": "API_KEY", "name": "partner"})]
        );
        assert_eq!(
            account.api_keys,
            [
                json!({"id": "PartnerKey", "name": "partner", "value": "partner-0123456789abcdefghij", "enabled": true})
            ]
        );
        assert_eq!(account.domain_names.len(), 1);
        assert_eq!(account.domain_names[0].domain, json!({"domainName": "api.example.com"}));
        assert_eq!(
            account.domain_names[0].mappings,
            [json!({"basePath": "orders", "restApiId": "OrdersApi", "stage": "v1"})]
        );

        // Every stage's document imports as a spec.
        for api in &account.rest_apis {
            for (stage, doc) in &api.exports {
                let imported = crate::openapi::import::import(doc, &Default::default()).unwrap();
                assert_eq!(imported.spec.config.stage.name, *stage);
                assert_eq!(imported.spec.config.api.id, text(&api.api, "id"));
            }
        }
        let at = "Resources.OrdersApi.Properties.Auth.UsagePlan.Value";
        assert!(reported(&report, at, "tollgate keys import"), "{report:#?}");
        assert!(
            reported(
                &report,
                "Resources.OrdersApi.Properties.Domain.RegionalCertificateArn",
                "PEM"
            ),
            "{report:#?}"
        );
        assert!(
            reported(
                &report,
                "Resources.ListPets.Properties.FunctionName",
                "`pets-ListPets-<random>`"
            ),
            "{report:#?}"
        );
        assert!(!report.iter().any(|r| r.at.contains("GetPet")), "{report:#?}");
    }

    /// Each SAM fixture and what aws-sam-translator makes of it (translate.py) read the same:
    /// APIs, stages, documents (paths, methods, integrations, security), keys, plans, domains.
    #[test]
    fn sam_templates_read_as_their_translation() {
        for name in ["sam-pets", "sam-auth", "sam-auth-all-maximum"] {
            let options = Options { stack_name: Some("pets".into()), ..Options::default() };
            let (sam, _) = read(&fixture(&format!("{name}.yaml")), &options).unwrap();
            let (translated, _) = read(&fixture(&format!("{name}.cfn.json")), &options).unwrap();
            assert_eq!(sam.rest_apis.len(), translated.rest_apis.len(), "{name}");
            for (ours, theirs) in sam.rest_apis.iter().zip(&translated.rest_apis) {
                assert_eq!(ours.api, theirs.api, "{name}");
                assert_eq!(ours.stages, theirs.stages, "{name} {}", ours.api);
                assert_eq!(ours.exports, theirs.exports, "{name} {}", ours.api);
                assert_eq!(ours, theirs, "{name}");
            }
            assert_eq!(sam, translated, "{name}");
        }
    }
}
