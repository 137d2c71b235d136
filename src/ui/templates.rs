//! The page's templates, compiled into glint and rendered by minijinja with HTML
//! auto-escaping (every template name ends in `.html`): an image name or a note is text.

use std::sync::OnceLock;

use minijinja::{Environment, Value};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("error.html", include_str!("templates/error.html")),
    ("login.html", include_str!("templates/login.html")),
    ("inbox.html", include_str!("templates/inbox.html")),
    ("outbox.html", include_str!("templates/outbox.html")),
    ("batch.html", include_str!("templates/batch.html")),
    ("grants.html", include_str!("templates/grants.html")),
    (
        "grant_revoke.html",
        include_str!("templates/grant_revoke.html"),
    ),
    ("policy.html", include_str!("templates/policy.html")),
    ("history.html", include_str!("templates/history.html")),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // The default: escape for HTML in `.html` templates (all of them here).
        env.set_auto_escape_callback(minijinja::default_auto_escape_callback);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        env.add_filter("size", human_size);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                // A template that does not compile is a bug caught by the tests below.
                tracing::error!(template = name, error = %e, "web page template does not compile");
            }
        }
        env
    })
}

pub fn render(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    env().get_template(name)?.render(ctx)
}

/// Bytes as people read them (`1.5 GiB`), the exact count being in the title attribute.
fn human_size(bytes: Option<i64>) -> String {
    let Some(b) = bytes else {
        return "—".into();
    };
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{b} B"),
        _ => format!("{v:.1} {}", UNITS[unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for (name, source) in TEMPLATES {
            let mut e = Environment::new();
            if let Err(err) = e.add_template(name, source) {
                panic!("{name}: {err:#}");
            }
        }
    }

    #[test]
    fn text_is_escaped() {
        let html = render(
            "error.html",
            minijinja::context! { status => 400, message => "<script>alert(1)</script>" },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
    }

    /// Each view renders with representative data (a template error is a 500 otherwise).
    #[test]
    fn every_view_renders() {
        let member = minijinja::context! {
            member_id => "p2", status => "pending", expired => false, expires_at => "2027-01-31T23:59:59Z",
            expires_date => "2027-01-31", note => "n", renewal_requested => true, policy => None::<String>,
        };
        let image = minijinja::context! {
            id => "i1", name => "img", owner => "p1", size => 1024, disk_format => "qcow2", status => "active",
        };
        let grant = minijinja::context! {
            id => "g1", owner => "p1", target_kind => "subtree", target_id => "p2", target_domain_id => "d1",
            tag => "golden", decision => "accepted", decided_at => "2026-12-06T00:00:00Z", created_at => "2026-12-06T00:00:00Z",
        };
        let common = minijinja::context! {
            base => "/glint/ui", user_id => "u", project_id => "p1", project_name => "alpha", csrf => "c",
        };
        let views = [
            (
                "inbox.html",
                minijinja::context! {
                    nav => "inbox", status => "pending", owner => None::<String>,
                    shares => vec![minijinja::context! { image => image.clone(), member => member.clone() }],
                    counts => minijinja::context! { pending => 1, accepted => 0, rejected => 0, expired => 0 },
                    owners => vec!["p1"], next_query => "status=pending&marker=i1", can_decide => true,
                    done => minijinja::context! { verb => "Accepted", updated => 1, unchanged => 0, failed => 0, more => false },
                    ..common.clone()
                },
            ),
            (
                "outbox.html",
                minijinja::context! {
                    nav => "outbox", done => "added",
                    images => vec![minijinja::context! {
                        image => image.clone(), members => vec![member.clone()],
                        can_add => true, can_remove => true, can_change => true,
                    }],
                    ..common.clone()
                },
            ),
            (
                "grants.html",
                minijinja::context! {
                    nav => "grants", grants => true, done => "Grant made; shares offered: 2.",
                    incoming => vec![minijinja::context! {
                        grant => grant.clone(), owner_name => "alpha", consent => "pending", can_decide => true,
                        images => vec![minijinja::context! { id => "i1", name => "img", status => "pending" }],
                    }],
                    mine => vec![minijinja::context! {
                        grant => grant.clone(), images => vec!["i1"], projects => 2, can_revoke => true,
                    }],
                    revoke_any => true, can_create => true,
                    ..common.clone()
                },
            ),
            (
                "grant_revoke.html",
                minijinja::context! {
                    nav => "grants",
                    it => minijinja::context! { grant => grant.clone(), images => vec!["i1"], projects => 2, can_revoke => true },
                    ..common.clone()
                },
            ),
            (
                "policy.html",
                minijinja::context! {
                    nav => "policy", owners => "p1", domains => "", same_domain => true, untrusted => "hide",
                    mode => "audit", updated_at => "2026-12-06T00:00:00Z", can_set => true, saved => true,
                    ..common.clone()
                },
            ),
            (
                "history.html",
                minijinja::context! {
                    nav => "history", next_query => "limit=1&marker=1",
                    events => vec![minijinja::context! {
                        id => 1, at => "t", action => "create", via => "direct", image_id => "i1", owner => "p1",
                        member_id => "p2", actor_user => "u", actor_project => "p1", from => None::<String>,
                        to => "status: pending",
                    }],
                    ..common.clone()
                },
            ),
            (
                "login.html",
                minijinja::context! { message => "m", method => "password", username => "alice" },
            ),
        ];
        for (name, ctx) in views {
            let html = render(name, ctx).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert!(html.contains("</main>"), "{name}");
        }
    }

    /// The navigation names the grants view only where grants work (`service::grants::available`).
    #[test]
    fn grants_entry_only_when_available() {
        for on in [false, true] {
            let html = render(
                "history.html",
                minijinja::context! { base => "/b", project_id => "p1", grants => on, nav => "history" },
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(html.contains(">Grants</a>"), on, "{html}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(None), "—");
        assert_eq!(human_size(Some(512)), "512 B");
        assert_eq!(human_size(Some(1536)), "1.5 KiB");
        assert_eq!(human_size(Some(3 * 1024 * 1024 * 1024)), "3.0 GiB");
    }
}
