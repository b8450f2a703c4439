//! API keys, usage plans and the keys in them.

use serde_json::{json, Map, Value};

use super::{Builder, Resource};
use crate::aws::template::intrinsics::flag;
use crate::aws::UsagePlan;

const KEY_MADE_BY_AWS: &str = "none given: API Gateway makes the key's value when the stack is \
     deployed; bring it with `tollgate keys import` (`aws apigateway get-api-keys \
     --include-values`) or read the account with `tollgate import-aws` (the key and its usage \
     plan memberships are left out)";

impl Builder<'_> {
    pub(super) fn api_key(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        let Some(value) = p.text("Value")? else {
            self.report.add(p.at("Value"), KEY_MADE_BY_AWS);
            self.keyless.insert(r.id.to_string());
            return Ok(());
        };
        let mut key = p.camel(&["Description", "CustomerId"])?;
        key.insert("id".into(), json!(r.id));
        key.insert("name".into(), json!(p.text("Name")?.unwrap_or_else(|| r.id.to_string())));
        key.insert("value".into(), json!(value));
        let enabled = p.get("Enabled")?.as_ref().and_then(flag).unwrap_or(false);
        key.insert("enabled".into(), json!(enabled));
        let mut stage_keys = Vec::new();
        for stage_key in p.items("StageKeys")? {
            stage_keys.push(json!(format!(
                "{}/{}",
                stage_key.required("RestApiId")?,
                stage_key.required("StageName")?
            )));
        }
        if !stage_keys.is_empty() {
            key.insert("stageKeys".into(), json!(stage_keys));
        }
        p.unread(
            &[
                "Value",
                "Description",
                "CustomerId",
                "Name",
                "Enabled",
                "StageKeys",
                "GenerateDistinctId",
            ],
            self.report,
        );
        self.api_keys.insert(r.id.to_string(), Value::Object(key));
        Ok(())
    }

    pub(super) fn usage_plan(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        let mut plan = p.camel(&["Description"])?;
        plan.insert("id".into(), json!(r.id));
        plan.insert(
            "name".into(),
            json!(p.text("UsagePlanName")?.unwrap_or_else(|| r.id.to_string())),
        );
        if let Some(throttle) = p.nested("Throttle")? {
            plan.insert(
                "throttle".into(),
                Value::Object(throttle.camel(&["RateLimit", "BurstLimit"])?),
            );
        }
        if let Some(quota) = p.nested("Quota")? {
            plan.insert(
                "quota".into(),
                Value::Object(quota.camel(&["Limit", "Offset", "Period"])?),
            );
        }
        let mut stages = Vec::new();
        for stage in p.items("ApiStages")? {
            let api = stage.required("ApiId")?;
            if !self.apis.contains_key(&api) {
                self.report.add(
                    stage.at("ApiId"),
                    format!("the REST API `{api}` is not defined in the template"),
                );
            }
            let mut item = json!({"apiId": api, "stage": stage.required("Stage")?});
            if let (Some(throttles), Some(map)) = (stage.nested("Throttle")?, item.as_object_mut())
            {
                let mut methods = Map::new();
                for key in throttles.map.keys() {
                    if let Some(limits) = throttles.nested(key)? {
                        methods.insert(
                            key.clone(),
                            Value::Object(limits.camel(&["RateLimit", "BurstLimit"])?),
                        );
                    }
                }
                map.insert("throttle".into(), Value::Object(methods));
            }
            stages.push(item);
        }
        plan.insert("apiStages".into(), json!(stages));
        p.unread(&["Description", "UsagePlanName", "Throttle", "Quota", "ApiStages"], self.report);
        self.plans
            .insert(r.id.to_string(), UsagePlan { plan: Value::Object(plan), keys: Vec::new() });
        Ok(())
    }

    pub(super) fn usage_plan_key(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        let key_id = p.required("KeyId")?;
        let plan_id = p.required("UsagePlanId")?;
        if self.keyless.contains(&key_id) {
            return Ok(());
        }
        let Some(key) = self.api_keys.get(&key_id) else {
            self.report.add(
                p.at("KeyId"),
                format!("the API key `{key_id}` is not defined in the template: left out"),
            );
            return Ok(());
        };
        let name = key.get("name").cloned().unwrap_or(Value::Null);
        let Some(plan) = self.plans.get_mut(&plan_id) else {
            self.report.add(
                p.at("UsagePlanId"),
                format!("the usage plan `{plan_id}` is not defined in the template: left out"),
            );
            return Ok(());
        };
        let kind = p.text("KeyType")?.unwrap_or_else(|| "API_KEY".into());
        plan.keys.push(json!({"id": key_id, "type": kind, "name": name}));
        Ok(())
    }
}
