//! Who is asking. Built only by the auth layer (Keystone validation, or the
//! explicit noauth mode); everything else reads it.

/// The caller of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub project_id: Option<String>,
    pub user_id: Option<String>,
    /// Lower-cased effective roles.
    pub roles: Vec<String>,
    /// The domain of the token's project, as Keystone reported it (the sharing extensions' trust
    /// policies match owners by domain).
    pub project_domain_id: Option<String>,
    /// `x-openstack-request-id` of the request (recorded in the sharing history).
    pub request_id: Option<String>,
}

impl RequestContext {
    pub fn new(project_id: Option<&str>, roles: &[&str]) -> Self {
        RequestContext {
            project_id: project_id.map(str::to_owned),
            user_id: None,
            roles: roles.iter().map(|r| r.to_ascii_lowercase()).collect(),
            ..RequestContext::default()
        }
    }

    /// Keystone's bootstrap makes admin imply member and member imply reader.
    /// Honour the chain here so a deployment without implied roles still works.
    pub fn has_role(&self, role: &str) -> bool {
        let implied: &[&str] = match role {
            "reader" => &["reader", "member", "admin"],
            "member" => &["member", "admin"],
            other => return self.roles.iter().any(|r| r == other),
        };
        self.roles.iter().any(|r| implied.contains(&r.as_str()))
    }

    /// Glance's `context_is_admin` is `role:admin`: admin in any project is a global admin.
    pub fn is_admin(&self) -> bool {
        self.has_role("admin")
    }

    pub fn project(&self) -> Option<&str> {
        self.project_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_roles() {
        let admin = RequestContext::new(Some("p"), &["Admin"]);
        assert!(admin.is_admin() && admin.has_role("member") && admin.has_role("reader"));
        let member = RequestContext::new(Some("p"), &["member"]);
        assert!(!member.is_admin() && member.has_role("member") && member.has_role("reader"));
        let reader = RequestContext::new(Some("p"), &["reader"]);
        assert!(!reader.has_role("member") && reader.has_role("reader"));
        let none = RequestContext::new(Some("p"), &[]);
        assert!(!none.has_role("reader"));
    }
}
