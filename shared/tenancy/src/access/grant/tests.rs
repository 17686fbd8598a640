use super::*;
use Scope::{AdminRead as R, AdminWrite as W, Generate as G};

fn creator(role: Option<Role>, scopes: &[Scope]) -> Principal {
    Principal {
        key_id: "key_creator".into(),
        key_prefix: "de_test_AbCd".into(),
        name: "creator".into(),
        org_id: "orgA".into(),
        instance_id: "insA".into(),
        project_id: None,
        user_id: role.map(|_| "usr_creator".to_string()),
        role,
        scopes: scopes.to_vec(),
        expires_at: None,
        revoked_at: None,
        allowed_models: None,
        access_revoked: false,
    }
}

fn grant(user_role: Option<Role>, scopes: &[Scope]) -> KeyGrant<'_> {
    KeyGrant {
        project_id: None,
        user_role,
        scopes,
        models: None,
        expires_at: None,
    }
}

fn refusal(actor: &Principal, grant: &KeyGrant) -> Option<(u16, String)> {
    check_grant(&Actor::Key(actor.clone()), grant)
        .err()
        .map(|e| (e.status(), e.code.into_owned()))
}

fn role_forbids() -> Option<(u16, String)> {
    Some((403, "role_forbids".into()))
}

#[test]
fn the_platform_issues_anything() {
    let mut g = grant(Some(Role::Owner), Scope::ALL);
    let models = vec!["m".to_string()];
    g.models = Some(&models);
    assert!(check_grant(&Actor::Platform, &g).is_ok());
    g.models = None;
    assert!(check_grant(&Actor::Platform, &g).is_ok());
}

#[test]
fn nobody_issues_keys_of_a_higher_role() {
    use Role::{Admin, Member, Owner, Viewer};
    // (creator's role, new key's user role, allowed)
    let cases = [
        (Some(Owner), Some(Owner), true),
        (Some(Owner), Some(Admin), true),
        (Some(Admin), Some(Owner), false),
        (Some(Admin), Some(Admin), true),
        (Some(Admin), Some(Member), true),
        (Some(Admin), None, true),
        (Some(Member), Some(Admin), false),
        (Some(Member), Some(Member), true),
        (Some(Viewer), Some(Member), false),
        // Service keys rank below an org admin: no keys of owners or admins.
        (None, Some(Owner), false),
        (None, Some(Admin), false),
        (None, Some(Member), true),
        (None, Some(Viewer), true),
        (None, None, true),
    ];
    for (by, user, allowed) in cases {
        let got = refusal(&creator(by, &[G, W]), &grant(user, &[G]));
        let want = if allowed { None } else { role_forbids() };
        assert_eq!(got, want, "{by:?} issuing a key of {user:?}");
    }
    let err = check_grant(
        &Actor::Key(creator(Some(Admin), &[W])),
        &grant(Some(Owner), &[R]),
    )
    .unwrap_err();
    assert_eq!(
        err.message,
        "an admin's API key cannot issue keys of an owner"
    );
    let err = check_grant(&Actor::Key(creator(None, &[W])), &grant(Some(Admin), &[R])).unwrap_err();
    assert_eq!(
        err.message,
        "a service key cannot issue keys of an org admin"
    );
}

#[test]
fn scopes_are_capped_by_the_creator() {
    let member = creator(Some(Role::Member), &[G, R]);
    assert_eq!(
        refusal(&member, &grant(None, &[W])),
        Some((403, "insufficient_scope".into()))
    );
    let writer = creator(None, &[W]);
    assert_eq!(
        refusal(&writer, &grant(None, &[G])),
        Some((403, "insufficient_scope".into()))
    );
    assert_eq!(refusal(&writer, &grant(None, &[R, W])), None);
}

#[test]
fn a_project_bound_creator_stays_in_its_project() {
    let mut bound = creator(Some(Role::Admin), &[G, W]);
    bound.project_id = Some("P1".into());
    let mut g = grant(None, &[G]);
    let forbidden = Some((403, "forbidden".to_string()));
    assert_eq!(refusal(&bound, &g), forbidden, "instance-wide key");
    g.project_id = Some("P2");
    assert_eq!(refusal(&bound, &g), forbidden, "another project");
    g.project_id = Some("P1");
    assert_eq!(refusal(&bound, &g), None);
    // An instance-wide creator may issue keys of any project of its instance.
    assert_eq!(refusal(&creator(None, &[G, W]), &g), None);
}

#[test]
fn an_allow_listed_creator_issues_only_subsets() {
    let mut listed = creator(None, &[G, W]);
    listed.allowed_models = Some(vec!["gpt-a".into(), "gpt-b".into()]);
    let mut g = grant(None, &[G]);
    let exceeds = Some((403, "exceeds_creator".to_string()));
    assert_eq!(refusal(&listed, &g), exceeds, "every model");
    let wider = vec!["gpt-a".to_string(), "gpt-c".to_string()];
    g.models = Some(&wider);
    let err = check_grant(&Actor::Key(listed.clone()), &g).unwrap_err();
    assert_eq!(&*err.code, "exceeds_creator");
    assert!(err.message.starts_with("models[1]: "), "{}", err.message);
    assert!(err.message.contains("gpt-c"), "{}", err.message);
    let subset = vec!["gpt-b".to_string()];
    g.models = Some(&subset);
    assert_eq!(refusal(&listed, &g), None);
    // A creator without a list may issue listed and unlisted keys.
    assert_eq!(refusal(&creator(None, &[G, W]), &g), None);
    g.models = None;
    assert_eq!(refusal(&creator(None, &[G, W]), &g), None);
}

#[test]
fn an_expiring_creator_issues_keys_that_expire_no_later() {
    let mut expiring = creator(Some(Role::Admin), &[G, W]);
    expiring.expires_at = Some(1_000);
    let mut g = grant(None, &[G]);
    let exceeds = Some((403, "exceeds_creator".to_string()));
    assert_eq!(refusal(&expiring, &g), exceeds, "never expires");
    g.expires_at = Some(1_001);
    let err = check_grant(&Actor::Key(expiring.clone()), &g).unwrap_err();
    assert!(err.message.starts_with("expires_at: "), "{}", err.message);
    assert_eq!(refusal(&expiring, &g), exceeds, "outlives the creator");
    g.expires_at = Some(1_000);
    assert_eq!(refusal(&expiring, &g), None);
    g.expires_at = None;
    assert_eq!(refusal(&creator(None, &[G, W]), &g), None);
}

#[test]
fn only_owners_touch_owners() {
    use Role::{Admin, Member, Owner, Viewer};
    let changes = [
        (UserChange::Create(Owner), false),
        (UserChange::Create(Admin), true),
        (UserChange::Create(Viewer), true),
        (
            UserChange::Update {
                from: Member,
                to: Some(Owner),
            },
            false,
        ),
        (
            UserChange::Update {
                from: Owner,
                to: Some(Admin),
            },
            false,
        ),
        (
            UserChange::Update {
                from: Owner,
                to: Some(Owner),
            },
            true,
        ),
        (
            UserChange::Update {
                from: Owner,
                to: None,
            },
            true,
        ),
        (
            UserChange::Update {
                from: Member,
                to: Some(Admin),
            },
            true,
        ),
        (
            UserChange::Update {
                from: Admin,
                to: Some(Viewer),
            },
            true,
        ),
        (UserChange::Delete(Owner), false),
        (UserChange::Delete(Admin), true),
    ];
    let admin = Actor::Key(creator(Some(Admin), &[W]));
    let owner = Actor::Key(creator(Some(Owner), &[W]));
    for (change, admin_may) in changes {
        let got = check_user_change(&admin, change);
        assert_eq!(got.is_ok(), admin_may, "admin: {change:?}");
        if let Err(err) = got {
            assert_eq!((err.status(), &*err.code), (403, "role_forbids"));
        }
        assert!(
            check_user_change(&owner, change).is_ok(),
            "owner: {change:?}"
        );
        assert!(check_user_change(&Actor::Platform, change).is_ok());
    }
}
