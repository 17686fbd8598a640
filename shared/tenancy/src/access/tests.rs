use super::*;
use Scope::{AdminRead as R, AdminWrite as W, Generate as G};

/// The matrix columns: org A holds instances A and B; instance A holds projects P1 and P2;
/// org B holds instance C with project P3.
fn targets() -> [(&'static str, Target<'static>); 8] {
    [
        ("org A", Target::org("orgA")),
        ("org B", Target::org("orgB")),
        ("instance A", Target::instance("orgA", "insA")),
        ("instance B", Target::instance("orgA", "insB")),
        ("instance C", Target::instance("orgB", "insC")),
        ("project P1", Target::project("orgA", "insA", "P1")),
        ("project P2", Target::project("orgA", "insA", "P2")),
        ("project in B", Target::project("orgB", "insC", "P3")),
    ]
}

fn key(
    org: &str,
    instance: &str,
    project: Option<&str>,
    role: Option<Role>,
    scopes: &[Scope],
) -> Actor {
    Actor::Key(Principal {
        key_id: "key_test".into(),
        key_prefix: "de_test_AbCd".into(),
        name: "test".into(),
        org_id: org.into(),
        instance_id: instance.into(),
        project_id: project.map(str::to_string),
        user_id: role.map(|_| "usr_test".to_string()),
        role,
        scopes: scopes.to_vec(),
        expires_at: None,
        revoked_at: None,
        allowed_models: None,
        access_revoked: false,
    })
}

/// Each row: an actor, then read/write outcomes for the eight targets() in order.
/// `ok` = allowed, `404` = not_found, `scope` = 403 insufficient_scope,
/// `role` = 403 role_forbids, `bind` = 403 forbidden (project binding).
fn matrix() -> Vec<(&'static str, Actor, &'static str)> {
    // cols: org A       org B       instance A  instance B  instance C  project P1  project P2  project in B
    vec![
        (
            "platform",
            Actor::Platform,
            "ok/ok       ok/ok       ok/ok       ok/ok       ok/ok       ok/ok       ok/ok       ok/ok",
        ),
        (
            "instance-A service key",
            key("orgA", "insA", None, None, &[W]),
            "ok/role     404/404     ok/ok       404/404     404/404     ok/ok       ok/ok       404/404",
        ),
        (
            "project-P1 key",
            key("orgA", "insA", Some("P1"), None, &[W]),
            "ok/role     404/404     ok/bind     404/404     404/404     ok/ok       404/404     404/404",
        ),
        // Viewer and member keys holding admin:write (granted before a role downgrade):
        // the role still forbids every write.
        (
            "viewer key",
            key("orgA", "insA", None, Some(Role::Viewer), &[R, W]),
            "ok/role     404/404     ok/role     404/404     404/404     ok/role     ok/role     404/404",
        ),
        (
            "member key",
            key("orgA", "insA", None, Some(Role::Member), &[G, R, W]),
            "ok/role     404/404     ok/role     404/404     404/404     ok/role     ok/role     404/404",
        ),
        (
            "owner key",
            key("orgA", "insA", None, Some(Role::Owner), &[W]),
            "ok/ok       404/404     ok/ok       404/404     404/404     ok/ok       ok/ok       404/404",
        ),
        (
            "generate-only key",
            key("orgA", "insA", None, None, &[G]),
            "scope/scope 404/404     scope/scope 404/404     404/404     scope/scope scope/scope 404/404",
        ),
        (
            "org-B key",
            key("orgB", "insC", None, Some(Role::Admin), &[W]),
            "404/404     ok/ok       404/404     404/404     ok/ok       404/404     404/404     ok/ok",
        ),
    ]
}

fn expected(label: &str) -> Option<(u16, &'static str)> {
    match label {
        "ok" => None,
        "404" => Some((404, "not_found")),
        "scope" => Some((403, "insufficient_scope")),
        "role" => Some((403, "role_forbids")),
        "bind" => Some((403, "forbidden")),
        other => panic!("bad matrix label {other}"),
    }
}

fn outcome(result: Result<(), ApiError>) -> Option<(u16, String)> {
    result.err().map(|e| (e.status(), e.code.into_owned()))
}

#[test]
fn authorization_matrix() {
    let mut checked = 0;
    for (who, actor, row) in matrix() {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells.len(), targets().len(), "row of {who}");
        for ((target_name, target), cell) in targets().iter().zip(cells) {
            let (read, write) = cell.split_once('/').unwrap();
            for (need, label) in [(Need::Read, read), (Need::Write, write)] {
                let got = outcome(authorize(&actor, need, target));
                let want = expected(label).map(|(s, c)| (s, c.to_string()));
                assert_eq!(got, want, "{who} {need:?} {target_name}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 8 * 8 * 2);
}

#[test]
fn messages_name_what_is_missing() {
    let reader = key("orgA", "insA", None, None, &[R]);
    let err = authorize(&reader, Need::Write, &Target::instance("orgA", "insA")).unwrap_err();
    assert_eq!(err.message, "this API key lacks the admin:write scope");
    let generator = key("orgA", "insA", None, None, &[G]);
    let err = authorize(&generator, Need::Read, &Target::org("orgA")).unwrap_err();
    assert_eq!(err.message, "this API key lacks the admin:read scope");
    let err = authorize(&generator, Need::Read, &Target::project("orgB", "i", "p")).unwrap_err();
    assert_eq!(err.message, "project not found");
    let bound = key("orgA", "insA", Some("P1"), None, &[W]);
    let err = authorize(&bound, Need::Write, &Target::instance("orgA", "insA")).unwrap_err();
    assert_eq!(
        err.message,
        "project-scoped keys cannot change instance settings"
    );
}

#[test]
fn project_bound_owner_cannot_change_the_org() {
    let bound_owner = key("orgA", "insA", Some("P1"), Some(Role::Owner), &[W]);
    let err = authorize(&bound_owner, Need::Write, &Target::org("orgA")).unwrap_err();
    assert_eq!((err.status(), &*err.code), (403, "forbidden"));
    assert!(authorize(&bound_owner, Need::Read, &Target::org("orgA")).is_ok());
    assert!(authorize(
        &bound_owner,
        Need::Write,
        &Target::project("orgA", "insA", "P1")
    )
    .is_ok());
}

#[test]
fn key_targets_follow_the_key_project() {
    assert_eq!(Target::key("o", "i", None), Target::instance("o", "i"));
    assert_eq!(
        Target::key("o", "i", Some("p")),
        Target::project("o", "i", "p")
    );
    let bound = key("orgA", "insA", Some("P1"), None, &[W]);
    assert_eq!(project_filter(&bound), Some("P1"));
    assert_eq!(project_filter(&Actor::Platform), None);
}

#[test]
fn keys_grant_only_scopes_they_hold() {
    assert!(grantable_scopes(&Actor::Platform, Scope::ALL).is_ok());
    let writer = key("orgA", "insA", None, None, &[W]);
    assert!(grantable_scopes(&writer, &[R, W]).is_ok());
    let err = grantable_scopes(&writer, &[R, G]).unwrap_err();
    assert_eq!((err.status(), &*err.code), (403, "insufficient_scope"));
    assert!(err.message.contains("generate"));
    let reader = key("orgA", "insA", None, None, &[R, G]);
    assert!(grantable_scopes(&reader, &[G]).is_ok());
    assert!(grantable_scopes(&reader, &[W]).is_err());
}

#[test]
fn roles_cap_key_scopes() {
    let cases: [(Option<Role>, &[Scope], bool); 11] = [
        (None, &[G, R, W], true),
        (Some(Role::Owner), &[G, R, W], true),
        (Some(Role::Admin), &[W], true),
        (Some(Role::Member), &[G, R], true),
        (Some(Role::Member), &[G], true),
        (Some(Role::Member), &[W], false),
        (Some(Role::Member), &[G, W], false),
        (Some(Role::Viewer), &[R], true),
        (Some(Role::Viewer), &[G], false),
        (Some(Role::Viewer), &[R, W], false),
        (Some(Role::Viewer), &[W], false),
    ];
    for (role, scopes, ok) in cases {
        let result = role_caps(role, scopes);
        assert_eq!(result.is_ok(), ok, "{role:?} {scopes:?}");
        if let Err(err) = result {
            assert_eq!((err.status(), &*err.code), (422, "invalid_value"));
            assert!(err.message.starts_with("scopes: "), "{}", err.message);
        }
    }
}

#[test]
fn users_reach_instances_by_role_or_grant() {
    let granted = vec!["insA".to_string()];
    assert!(user_reaches_instance(Role::Owner, &[], "insB"));
    assert!(user_reaches_instance(Role::Admin, &[], "insB"));
    assert!(user_reaches_instance(Role::Member, &granted, "insA"));
    assert!(!user_reaches_instance(Role::Member, &granted, "insB"));
    assert!(!user_reaches_instance(Role::Viewer, &[], "insA"));
}

#[test]
fn the_current_role_caps_the_scopes_of_existing_keys() {
    let cases: [(Option<Role>, &[Scope], &[Scope]); 8] = [
        (None, &[G, R, W], &[G, R, W]),
        (Some(Role::Owner), &[G, W], &[G, W]),
        (Some(Role::Admin), &[G, W], &[G, W]),
        (Some(Role::Member), &[G, W], &[G, R]),
        (Some(Role::Member), &[G, R, W], &[G, R]),
        (Some(Role::Viewer), &[G], &[]),
        (Some(Role::Viewer), &[G, W], &[R]),
        (Some(Role::Viewer), &[R, W], &[R]),
    ];
    for (role, scopes, want) in cases {
        assert_eq!(effective_scopes(role, scopes), want, "{role:?} {scopes:?}");
        // What the cap leaves is always something a new key of that role could be given.
        let capped = effective_scopes(role, scopes);
        assert!(capped.is_empty() || role_caps(role, &capped).is_ok());
    }
}
