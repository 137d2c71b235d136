//! The request of the v2.17 locations API (`POST /v2/images/{id}/locations`) as Glance 32
//! checks it before it starts its `location_import` task: the body against Glance's
//! `location` schema, then the hash the caller vouches for.

use serde_json::{json, Value};

use crate::domain::json_schema::validate_against;
use crate::domain::location_patch::{digest_size, from_hex};
use crate::error::{Error, Result};

/// `POST /v2/images/{id}/locations`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AddLocation {
    pub url: String,
    /// `validation_data` as sent (`{}` when absent).
    pub validation_data: Value,
}

/// Glance's `get_location_schema().raw()`, keys in Glance's order (its reports print it).
fn schema() -> Value {
    json!({
        "name": "location",
        "properties": {
            "add_location": {
                "type": "object",
                "description": "Values of location url, do_secure_hash and validation_data for new add location API",
                "properties": {
                    "url": {
                        "type": "string",
                        "readOnly": true,
                        "description": "The URL of the new location to be added in the image."
                    },
                    "validation_data": {
                        "description": "Values to be used to populate the corresponding image properties.do_secure_hash is not True then image checksum and hash will not be calculated so it is the responsibility of the consumer of location ADD API to provide the correct values in the validation_data parameter",
                        "type": "object",
                        "writeOnly": true,
                        "additionalProperties": false,
                        "properties": {
                            "os_hash_algo": {
                                "type": "string",
                                "maxLength": 64,
                                "enum": ["sha1", "sha256", "sha512", "md5"]
                            },
                            "os_hash_value": {"type": "string", "maxLength": 128}
                        },
                        "dependentRequired": {
                            "os_hash_value": ["os_hash_algo"],
                            "os_hash_algo": ["os_hash_value"]
                        }
                    }
                },
                "required": ["url"]
            }
        },
        "additionalProperties": {"type": "string"}
    })
}

/// Glance's `RequestDeserializer.add_location`: the body, wrapped as `add_location`, against
/// the schema (400 with jsonschema's report).
pub fn parse(body: &Value) -> Result<AddLocation> {
    validate_against("location", &schema(), &json!({ "add_location": body }))?;
    Ok(AddLocation {
        url: body["url"].as_str().unwrap_or_default().to_owned(),
        validation_data: body
            .get("validation_data")
            .cloned()
            .unwrap_or_else(|| json!({})),
    })
}

/// Glance's `_validate_hashing_data`: `os_hash_value` is hex of the size of `os_hash_algo`
/// (`hashing_algorithm` when absent).
pub fn check_hash(validation_data: &Value, hashing_algorithm: &str) -> Result<()> {
    let Some(value) = validation_data.get("os_hash_value") else {
        return Ok(());
    };
    let text = value.as_str().unwrap_or_default();
    let Some(bytes) = from_hex(text) else {
        return Err(Error::bad_request(format!(
            "os_hash_value ({text}) is not a valid hexadecimal value"
        )));
    };
    let algo = validation_data
        .get("os_hash_algo")
        .and_then(Value::as_str)
        .unwrap_or(hashing_algorithm);
    let want = digest_size(algo).unwrap_or(0);
    if bytes.len() != want {
        return Err(Error::bad_request(format!(
            "os_hash_value: ({text}) is not the correct size for ({algo}) (should be ({want}) bytes)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<impl std::fmt::Debug>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn bodies_as_glances_schema_takes_them() {
        let ok = parse(&json!({"url": "http://h/x"})).unwrap();
        assert_eq!(ok.url, "http://h/x");
        assert_eq!(ok.validation_data, json!({}));
        let ok = parse(&json!({"url": "u", "validation_data": {"os_hash_algo": "md5", "os_hash_value": "00"}, "extra": 1})).unwrap();
        assert_eq!(ok.validation_data["os_hash_algo"], "md5");
        for (body, start) in [
            (json!({}), "400: Provided object does not match schema 'location': 'url' is a required property\n\nFailed validating 'required' in schema['properties']['add_location']:\n"),
            (json!("x"), "400: Provided object does not match schema 'location': 'x' is not of type 'object'"),
            (json!({"url": 1}), "400: Provided object does not match schema 'location': 1 is not of type 'string'"),
            (json!({"url": "u", "validation_data": {"os_hash_value": "00"}}), "400: Provided object does not match schema 'location': 'os_hash_algo' is a dependency of 'os_hash_value'"),
            (json!({"url": "u", "validation_data": {"os_hash_algo": "sha384", "os_hash_value": "00"}}), "400: Provided object does not match schema 'location': 'sha384' is not one of ['sha1', 'sha256', 'sha512', 'md5']"),
            (json!({"url": "u", "validation_data": {"checksum": "00"}}), "400: Provided object does not match schema 'location': Additional properties are not allowed ('checksum' was unexpected)"),
        ] {
            let got = msg(parse(&body));
            assert!(got.starts_with(start), "{body}: {got}");
        }
    }

    #[test]
    fn hashes_as_glance_checks_them() {
        assert!(check_hash(&json!({}), "sha512").is_ok());
        assert!(check_hash(
            &json!({"os_hash_algo": "sha256", "os_hash_value": "ab".repeat(32)}),
            "sha512"
        )
        .is_ok());
        assert!(check_hash(
            &json!({"os_hash_algo": "md5", "os_hash_value": "ab".repeat(16)}),
            "sha512"
        )
        .is_ok());
        assert_eq!(
            msg(check_hash(
                &json!({"os_hash_algo": "sha1", "os_hash_value": "zz"}),
                "sha512"
            )),
            "400: os_hash_value (zz) is not a valid hexadecimal value"
        );
        assert_eq!(
            msg(check_hash(
                &json!({"os_hash_algo": "sha1", "os_hash_value": "abcd"}),
                "sha512"
            )),
            "400: os_hash_value: (abcd) is not the correct size for (sha1) (should be (20) bytes)"
        );
    }
}
