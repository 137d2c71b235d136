//! A posted form as its name/value pairs (a checkbox list repeats its name).

use actix_web::web::Bytes;

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
