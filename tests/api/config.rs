//! The `glint` command and glance-api.conf: parse errors, what `check-config` reports for
//! kolla-ansible's and devstack's files, and that only writing commands touch the disk.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `glint ARGS` in `cwd` with a clean environment plus `env`.
fn glint(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glint"))
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn only_writing_commands_create_the_data_dir() {
    let cwd = tempfile::tempdir().unwrap();
    for args in [
        &["check-config"][..],
        &["--help"],
        &["--version"],
        &["db", "version"],
    ] {
        glint(cwd.path(), args, &[]);
        assert!(
            entries(cwd.path()).is_empty(),
            "{args:?} wrote {:?}",
            entries(cwd.path())
        );
    }
    let out = glint(cwd.path(), &["check-config"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // `db sync` must write: it creates ./glint-data and the database in it.
    let out = glint(cwd.path(), &["db", "sync"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(entries(cwd.path()), vec!["glint-data"]);
    assert!(cwd.path().join("glint-data/glint.db").exists());
}

#[test]
fn parse_errors_stop_check_config_and_serve() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("glance-api.conf");
    let conf_s = conf.display().to_string();
    for (body, line) in [
        ("[DEFAULT]\nbind_port = 9751\ndebug\nworkers = 1\n", 3),
        ("bind_port = 9751\n[DEFAULT]\n", 1),
    ] {
        std::fs::write(&conf, body).unwrap();
        for cmd in ["check-config", "serve"] {
            let out = glint(dir.path(), &["--config-file", &conf_s, cmd], &[]);
            assert!(!out.status.success(), "{cmd} accepted {body:?}");
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains(&format!("{conf_s}:{line}: ")),
                "{cmd}: {stderr}"
            );
        }
    }
}

/// The fixtures' MySQL URLs replaced (glint does not speak MySQL); nothing is opened.
fn db_env(dir: &Path) -> (String, String) {
    (
        "GLINT__DATABASE__CONNECTION".to_owned(),
        format!("sqlite:///{}/g.db", dir.display()),
    )
}

#[test]
fn kolla_ansible_file_is_accepted_with_its_ignored_options_listed() {
    let dir = tempfile::tempdir().unwrap();
    let (k, v) = db_env(dir.path());
    let conf = fixture("glance-api.kolla.conf");
    let out = glint(
        dir.path(),
        &["--config-file", &conf, "check-config"],
        &[(&k, &v)],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let want = "\
ignored: [DEFAULT] log_file
ignored: [cors] allowed_origin
ignored: [database] connection_recycle_time
ignored: [keystone_authtoken] memcache_secret_key
ignored: [keystone_authtoken] memcache_security_strategy
ignored: [keystone_authtoken] memcached_servers
ignored: [keystone_authtoken] region_name
ignored: [keystone_authtoken] service_type
ignored: [os_glance_staging_store] filesystem_store_datadir
ignored: [os_glance_tasks_store] filesystem_store_datadir
ignored: [oslo_concurrency] lock_path
ignored: [oslo_messaging_rabbit] heartbeat_in_pthread
unknown to Glance: [DEFAULT] cinder_catalog_info
configuration OK
";
    assert_eq!(text(&out.stdout), want);
    // The start-up log says the same in one line.
    assert!(text(&out.stderr).contains("12 configuration option(s) ignored"));
    let out = glint(
        dir.path(),
        &["--config-file", &conf, "check-config", "--strict"],
        &[(&k, &v)],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--strict: 13 option(s)"),
        "{}",
        text(&out.stderr)
    );
    // Settings kolla writes for other deployments are refused, each by name.
    for (var, value, option) in [
        (
            "GLINT__PASTE_DEPLOY__FLAVOR",
            "keystone+cachemanagement",
            "[paste_deploy] flavor",
        ),
        (
            "GLINT__KEYSTONE_AUTHTOKEN__CAFILE",
            "/etc/kolla/certificates/ca.pem",
            "[keystone_authtoken] cafile",
        ),
        (
            "GLINT__OSLO_MESSAGING_RABBIT__SSL",
            "true",
            "[oslo_messaging_rabbit] ssl",
        ),
    ] {
        let out = glint(
            dir.path(),
            &["--config-file", &conf, "check-config"],
            &[(&k, &v), (var, value)],
        );
        assert!(!out.status.success(), "{option}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("{option} is not supported by glint")),
            "{stderr}"
        );
    }
}

#[test]
fn devstack_file_is_refused_for_its_ca_file_and_cache_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let (k, v) = db_env(dir.path());
    let conf = fixture("glance-api.devstack.conf");
    let out = glint(
        dir.path(),
        &["--config-file", &conf, "check-config"],
        &[(&k, &v)],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("[keystone_authtoken] cafile is not supported"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[paste_deploy] flavor is not supported"),
        "{stderr}"
    );
    assert!(!stderr.contains("[glance_store] stores"), "{stderr}");
    // Without those two it passes, listing what it ignores.
    let fixed = [
        (k.as_str(), v.as_str()),
        ("GLINT__KEYSTONE_AUTHTOKEN__CAFILE", ""),
        ("GLINT__PASTE_DEPLOY__FLAVOR", "keystone"),
    ];
    let out = glint(
        dir.path(),
        &["--config-file", &conf, "check-config"],
        &fixed,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let want = "\
ignored: [DEFAULT] image_cache_dir
ignored: [DEFAULT] logging_context_format_string
ignored: [DEFAULT] logging_debug_format_suffix
ignored: [DEFAULT] logging_default_format_string
ignored: [DEFAULT] logging_exception_prefix
ignored: [DEFAULT] use_syslog
ignored: [keystone_authtoken] interface
ignored: [keystone_authtoken] memcached_servers
ignored: [oslo_concurrency] lock_path
configuration OK
";
    assert_eq!(text(&out.stdout), want);
}

#[test]
fn serve_refuses_what_check_config_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let (k, v) = db_env(dir.path());
    let conf = fixture("glance-api.kolla.conf");
    let mut child = Command::new(env!("CARGO_BIN_EXE_glint"))
        .current_dir(dir.path())
        .env_clear()
        .env(&k, &v)
        .env("GLINT__DEFAULT__BIND_HOST", "127.0.0.1")
        .env("GLINT__DEFAULT__BIND_PORT", "9752")
        .env("GLINT__OSLO_LIMIT__INSECURE", "True")
        .args(["--config-file", &conf, "serve"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A guard only: a server that starts would otherwise keep the test waiting.
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
        panic!("serve started despite [oslo_limit] insecure = True");
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("[oslo_limit] insecure is not supported"),
        "{stderr}"
    );
    assert!(
        entries(dir.path()).iter().all(|e| e != "g.db"),
        "serve opened the database"
    );
}

/// `property_protection_file` is read by `check-config` as by `serve`: a missing or invalid file
/// fails, naming the file and what is wrong with it.
#[test]
fn check_config_reads_the_property_protection_file() {
    let dir = tempfile::tempdir().unwrap();
    let (k, v) = db_env(dir.path());
    let conf = fixture("glance-api.kolla.conf");
    let pp = dir.path().join("pp.conf");
    let pp = pp.to_str().unwrap();
    let check = |format: &str| {
        glint(
            dir.path(),
            &["--config-file", &conf, "check-config"],
            &[
                (&k, &v),
                ("GLINT__DEFAULT__PROPERTY_PROTECTION_FILE", pp),
                ("GLINT__DEFAULT__PROPERTY_PROTECTION_RULE_FORMAT", format),
            ],
        )
    };
    let out = check("roles");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "[DEFAULT] property_protection_file {pp}: invalid property protection file: No such file"
        )),
        "{stderr}"
    );
    std::fs::write(pp, "[.*]\ncreate = admin\nread = admin\nupdate = admin\n").unwrap();
    let stderr = text(&check("roles").stderr);
    assert!(
        stderr.contains(&format!(
            "{pp}: invalid property protection file: section [.*] has no 'delete'"
        )),
        "{stderr}"
    );
    std::fs::write(
        pp,
        "[.*]\ncreate = admin,member\nread = @\nupdate = admin\ndelete = admin\n",
    )
    .unwrap();
    let out = check("roles");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The same file names two policies for `create`.
    let stderr = text(&check("policies").stderr);
    assert!(
        stderr.contains("multiple policies are not allowed"),
        "{stderr}"
    );
    let stderr = text(&check("Roles").stderr);
    assert!(
        stderr.contains("invalid value 'Roles' for [DEFAULT] property_protection_rule_format"),
        "{stderr}"
    );
}
