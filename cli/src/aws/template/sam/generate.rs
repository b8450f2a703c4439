//! The CloudFormation resources SAM makes of an API: its `RestApi`, `Deployment` and `Stage`,
//! the usage plan and key of its `Auth.UsagePlan`, the custom domain of its `Domain`.

use serde_json::{json, Map, Value};

use super::openapi::truthy;
use super::{Generated, SamApi};
use crate::aws::template::intrinsics::flag;
use crate::aws::template::{Report, Template};
use crate::openapi::{join, scalar};

const PRIVATE_DOMAINS: &str =
    "private custom domains are not read: map the API on a domain in the gateway file";

impl SamApi {
    /// The CloudFormation resources SAM makes of the API.
    pub(super) fn generate(
        mut self,
        t: &Template,
        out: &mut Generated,
        report: &mut Report,
    ) -> Result<(), String> {
        if self.prop("MergeDefinitions").and_then(flag) == Some(true) {
            return Err(format!(
                "{}.MergeDefinitions: not read; merge the events into DefinitionBody",
                self.at
            ));
        }
        if self.prop("DisableExecuteApiEndpoint").is_some() {
            report.add(
                join(&self.at, "DisableExecuteApiEndpoint"),
                "the gateway has no execute-api endpoint to disable",
            );
        }
        let stage = self
            .prop("StageName")
            .cloned()
            .ok_or_else(|| format!("{}.StageName: missing", self.at))?;
        self.add_cors(t)?;
        self.add_auth()?;
        self.add_gateway_responses()?;
        self.add_binary_media_types()?;
        self.add_models()?;
        if !self.from_file {
            self.openapi_postprocess();
        }
        let id = self.id.clone();
        if !self.from_file {
            out.definition_bodies.insert(id.clone());
        }
        out.add(&id, "AWS::ApiGateway::RestApi", self.rest_api_properties(), &self, &self.at);
        let stage_id = match &stage {
            Value::String(name) if name.chars().all(|c| c.is_ascii_alphanumeric()) => {
                format!("{id}{name}Stage")
            }
            _ => format!("{id}Stage"),
        };
        let deployment_id = format!("{id}Deployment");
        // Without OpenApiVersion, SAM's deployment also makes a stage named `Stage`.
        let mut deployment = json!({"RestApiId": {"Ref": id}});
        if !self.prop("OpenApiVersion").is_some_and(truthy) {
            if let Some(map) = deployment.as_object_mut() {
                map.insert("StageName".into(), json!("Stage"));
            }
        }
        out.add(&deployment_id, "AWS::ApiGateway::Deployment", deployment, &self, &self.at);
        let mut stage_props = json!({
            "RestApiId": {"Ref": id},
            "DeploymentId": {"Ref": deployment_id},
            "StageName": stage,
        });
        for name in [
            "CacheClusterEnabled",
            "CacheClusterSize",
            "Variables",
            "MethodSettings",
            "AccessLogSetting",
            "CanarySetting",
            "TracingEnabled",
        ] {
            if let (Some(value), Some(map)) = (self.prop(name), stage_props.as_object_mut()) {
                map.insert(name.into(), value.clone());
            }
        }
        out.add(&stage_id, "AWS::ApiGateway::Stage", stage_props, &self, &self.at);
        out.aliases.insert(format!("{id}.Stage"), stage_id.clone());
        out.aliases.insert(format!("{id}.Deployment"), deployment_id);
        self.usage_plan(&stage_id, out)?;
        self.domain(t, out, report)
    }

    fn rest_api_properties(&self) -> Value {
        let mut props = Map::new();
        props.insert("Body".into(), self.body.clone());
        for name in [
            "BinaryMediaTypes",
            "MinimumCompressionSize",
            "Name",
            "Description",
            "Mode",
            "ApiKeySourceType",
            "Policy",
            "FailOnWarnings",
        ] {
            if let Some(value) = self.prop(name) {
                props.insert(name.into(), value.clone());
            }
        }
        if let Some(endpoint) = self.prop("EndpointConfiguration") {
            let kind = endpoint.get("Type").unwrap_or(endpoint);
            props.insert("EndpointConfiguration".into(), json!({"Types": [kind]}));
        }
        Value::Object(props)
    }

    /// `Auth.UsagePlan`: a plan for this API (`PER_API`) or for all (`SHARED`), each with an
    /// API key API Gateway makes the value of.
    fn usage_plan(&self, stage_id: &str, out: &mut Generated) -> Result<(), String> {
        let Some(plan) = self.auth.get("UsagePlan") else { return Ok(()) };
        let at = join(&self.at, "Auth.UsagePlan");
        let plan = plan.as_object().ok_or_else(|| format!("{at}: not a map"))?;
        const KNOWN: [&str; 6] =
            ["CreateUsagePlan", "Description", "Quota", "Tags", "Throttle", "UsagePlanName"];
        if let Some(key) = plan.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(format!("{at}.{key}: not a UsagePlan property"));
        }
        let create = plan
            .get("CreateUsagePlan")
            .map(scalar)
            .ok_or_else(|| format!("{at}.CreateUsagePlan: missing"))?;
        let mut props = Map::new();
        for name in ["UsagePlanName", "Description", "Quota", "Tags", "Throttle"] {
            if let Some(value) = plan.get(name).filter(|v| truthy(v)) {
                props.insert(name.into(), value.clone());
            }
        }
        let id = &self.id;
        let api_stage = json!({"ApiId": {"Ref": id}, "Stage": {"Ref": stage_id}});
        match create.as_str() {
            "NONE" => Ok(()),
            "PER_API" => {
                props.insert("ApiStages".into(), json!([api_stage]));
                let (plan_id, key_id) = (format!("{id}UsagePlan"), format!("{id}ApiKey"));
                out.add(&plan_id, "AWS::ApiGateway::UsagePlan", Value::Object(props), self, &at);
                let key = json!({
                    "Enabled": true,
                    "StageKeys": [{"RestApiId": {"Ref": id}, "StageName": {"Ref": stage_id}}],
                });
                out.add(&key_id, "AWS::ApiGateway::ApiKey", key, self, &at);
                let plan_key = plan_key(&key_id, &plan_id);
                out.add(
                    &format!("{id}UsagePlanKey"),
                    "AWS::ApiGateway::UsagePlanKey",
                    plan_key,
                    self,
                    &at,
                );
                Ok(())
            }
            "SHARED" => {
                if !out.shared_stages.contains(&api_stage) {
                    out.shared_stages.push(api_stage);
                }
                let (shared, _) = out.shared_plan.get_or_insert_with(|| (Map::new(), at.clone()));
                shared.extend(props);
                Ok(())
            }
            other => Err(format!("{at}.CreateUsagePlan: `{other}` is not SHARED, PER_API or NONE")),
        }
    }

    /// `Domain`: the custom domain and its base path mappings to this API's stage.
    fn domain(&self, t: &Template, out: &mut Generated, report: &mut Report) -> Result<(), String> {
        let Some(domain) = self.prop("Domain") else { return Ok(()) };
        let at = join(&self.at, "Domain");
        let domain = domain.as_object().ok_or_else(|| format!("{at}: not a map"))?;
        let field = |name: &str| domain.get(name).ok_or_else(|| format!("{at}.{name}: missing"));
        let name = t.text(field("DomainName")?, &join(&at, "DomainName"))?;
        let certificate = field("CertificateArn")?.clone();
        let endpoint = match domain.get("EndpointConfiguration") {
            Some(endpoint) => t.text(endpoint, &join(&at, "EndpointConfiguration"))?,
            None => "REGIONAL".into(),
        };
        match endpoint.as_str() {
            "PRIVATE" => {
                report.add(at, PRIVATE_DOMAINS);
                return Ok(());
            }
            "REGIONAL" | "EDGE" => {}
            other => {
                return Err(format!(
                    "{at}.EndpointConfiguration: `{other}` is not EDGE, REGIONAL or PRIVATE"
                ))
            }
        }
        let certificate_key =
            if endpoint == "REGIONAL" { "RegionalCertificateArn" } else { "CertificateArn" };
        let mut props = json!({
            "DomainName": name,
            certificate_key: certificate,
            "EndpointConfiguration": {"Types": [endpoint]},
        });
        for key in
            ["MutualTlsAuthentication", "SecurityPolicy", "OwnershipVerificationCertificateArn"]
        {
            if let (Some(value), Some(map)) = (domain.get(key), props.as_object_mut()) {
                map.insert(key.into(), value.clone());
            }
        }
        let domain_id = format!(
            "ApiGatewayDomainName{}",
            name.replace(|c: char| !c.is_ascii_alphanumeric(), "")
        );
        out.add(&domain_id, "AWS::ApiGateway::DomainName", props, self, &at);
        let normalize = domain.get("NormalizeBasePath").and_then(flag).unwrap_or(true);
        let base_paths = match domain
            .get("BasePath")
            .map(|b| t.resolve(b, &join(&at, "BasePath")))
            .transpose()?
            .flatten()
        {
            Some(Value::String(path)) if !path.is_empty() => vec![path],
            Some(Value::Array(paths)) if !paths.is_empty() => paths.iter().map(scalar).collect(),
            _ => Vec::new(),
        };
        let mapping = |base_path: Option<String>| {
            let mut props = json!({
                "DomainName": {"Ref": domain_id},
                "RestApiId": {"Ref": self.id},
                "Stage": {"Ref": format!("{}.Stage", self.id)},
            });
            if let (Some(path), Some(map)) = (base_path, props.as_object_mut()) {
                map.insert("BasePath".into(), json!(path));
            }
            props
        };
        if base_paths.is_empty() {
            out.add(
                &format!("{}BasePathMapping", self.id),
                "AWS::ApiGateway::BasePathMapping",
                mapping(None),
                self,
                &at,
            );
        }
        for base_path in base_paths {
            let alphanumeric: String = base_path.chars().filter(|c| c.is_alphanumeric()).collect();
            let value = if normalize { alphanumeric.clone() } else { base_path };
            let id = format!("{}{alphanumeric}BasePathMapping", self.id);
            out.add(&id, "AWS::ApiGateway::BasePathMapping", mapping(Some(value)), self, &at);
        }
        Ok(())
    }
}

/// A `UsagePlanKey`'s properties.
fn plan_key(key: &str, plan: &str) -> Value {
    json!({"KeyId": {"Ref": key}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": plan}})
}

/// `ServerlessUsagePlan`, `ServerlessApiKey` and `ServerlessUsagePlanKey`.
pub(super) fn shared_usage_plan_resources(
    mut plan: Map<String, Value>,
    stages: &[Value],
) -> Vec<(&'static str, &'static str, Value)> {
    plan.insert("ApiStages".into(), Value::Array(stages.to_vec()));
    let stage_keys: Vec<Value> = stages
        .iter()
        .map(
            |s| json!({"RestApiId": s.get("ApiId").cloned(), "StageName": s.get("Stage").cloned()}),
        )
        .collect();
    vec![
        ("ServerlessUsagePlan", "AWS::ApiGateway::UsagePlan", Value::Object(plan)),
        (
            "ServerlessApiKey",
            "AWS::ApiGateway::ApiKey",
            json!({"Enabled": true, "StageKeys": stage_keys}),
        ),
        (
            "ServerlessUsagePlanKey",
            "AWS::ApiGateway::UsagePlanKey",
            plan_key("ServerlessApiKey", "ServerlessUsagePlan"),
        ),
    ]
}
