//! A posted form as its name/value pairs (a checkbox list repeats its name), and a page's
//! query values.

use actix_web::web::Bytes;
use actix_web::HttpRequest;

use crate::error::Error;

pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// `application/x-www-form-urlencoded` pairs; anything else is a 400.
    pub fn parse(body: &Bytes) -> Result<Fields, Error> {
        serde_urlencoded::from_bytes(body)
            .map(Fields)
            .map_err(|_| Error::bad_request("The form could not be read."))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or "".
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// The first value of `key` in the request's query string.
pub fn query_value(req: &HttpRequest, key: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).ok()?;
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}
