use super::super::*;

#[test]
fn a_stored_key_parses_back_to_its_instance_and_project() {
    let id = image_id(&[0xab; 16]);
    assert_eq!(id, format!("img_{}", "ab".repeat(16)));
    let key = object_key("ins_01abc", Some("prj_9z"), 1_764_720_000_000, &id, "png");
    assert_eq!(key, format!("ins_01abc/prj_9z/2025/12/03/{id}.png"));
    assert_eq!(
        parse_object_key(&key),
        Some(ObjectKey {
            instance_id: "ins_01abc",
            project_id: Some("prj_9z"),
            ext: "png"
        })
    );
    let unscoped = object_key("ins_01abc", None, 0, &id, "webp");
    assert_eq!(unscoped, format!("ins_01abc/_/1970/01/01/{id}.webp"));
    assert_eq!(parse_object_key(&unscoped).unwrap().project_id, None);
}

#[test]
fn anything_but_the_exact_shape_is_no_key() {
    let id = image_id(&[7; 16]);
    let bad = [
        String::new(),
        format!("ins_1/_/2025/12/03/{id}"),
        format!("ins_1/_/2025/12/03/{id}.png/x"),
        format!("../_/2025/12/03/{id}.png"),
        format!("ins_1/../2025/12/03/{id}.png"),
        format!("ins_1/_/25/12/03/{id}.png"),
        format!("ins_1/_/2025/1/03/{id}.png"),
        "ins_1/_/2025/12/03/img_1234.png".to_string(),
        format!("ins_1/_/2025/12/03/{}.png", id.to_uppercase()),
        format!("ins_1/_/2025/12/03/{id}.PNG"),
        format!("INS_1/_/2025/12/03/{id}.png"),
        format!("ins_1%2f/_/2025/12/03/{id}.png"),
        format!("ins_1/prj_/2025/12/03/{id}.png"),
        format!("/ins_1/_/2025/12/03/{id}.png"),
    ];
    for key in bad {
        assert_eq!(parse_object_key(&key), None, "{key}");
    }
}
