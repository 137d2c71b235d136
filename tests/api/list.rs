//! `GET /v2/images`: filters, sorting, paging.

use std::collections::HashSet;

use serde_json::json;

use crate::backend_test;
use crate::helpers::{image_ids, json, message};

backend_test!(paging_sees_each_image_once_in_order, |app| async move {
    let c = app.caller("p1", "member");
    let mut created = Vec::new();
    for i in 0..60 {
        created.push(
            c.create_image(json!({"name": format!("img-{i:02}")})).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut next = Some("/v2/images".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let (s, v) = json(c.get(&path).await).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["schema"], "/v2/schemas/images");
        assert!(v["first"].as_str().unwrap().starts_with("/v2/images"));
        seen.extend(image_ids(&v));
        next = v["next"].as_str().map(str::to_owned);
        pages += 1;
        assert!(pages < 10);
    }
    // 25 + 25 + 10: the last page is not full, so no `next`.
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 60);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 60);
    // Default order is created_at desc, id desc: same-second images tie-break on id.
    let (_, all) = json(c.get("/v2/images?limit=1000").await).await;
    assert_eq!(image_ids(&all), seen);
    // Sorted by name ascending, 7 per page.
    let mut names = Vec::new();
    let mut path = Some("/v2/images?sort=name:asc&limit=7".to_owned());
    while let Some(p) = path {
        let (_, v) = json(c.get(&p).await).await;
        names.extend(
            v["images"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["name"].as_str().unwrap().to_owned()),
        );
        path = v["next"].as_str().map(str::to_owned);
    }
    let expected: Vec<String> = (0..60).map(|i| format!("img-{i:02}")).collect();
    assert_eq!(names, expected);
    // An exact multiple gives one trailing empty page, as in Glance.
    let (_, v) = json(c.get("/v2/images?limit=60").await).await;
    assert!(v["next"].is_string());
    let (_, v) = json(c.get(v["next"].as_str().unwrap()).await).await;
    assert_eq!(image_ids(&v), Vec::<String>::new());
    assert!(v.get("next").is_none());
});

backend_test!(filters, |app| async move {
    let c = app.caller("p1", "member");
    let a = c.create_image(json!({"name": "alpha", "disk_format": "raw", "container_format": "bare", "tags": ["t1", "t2"], "os_distro": "debian", "visibility": "private"})).await;
    let b = c.create_image(json!({"name": "beta", "disk_format": "qcow2", "container_format": "ovf", "tags": ["t1"], "protected": true})).await;
    let h = c
        .create_image(json!({"name": "hidden", "os_hidden": true}))
        .await;
    let (aid, bid, hid) = (
        a["id"].as_str().unwrap(),
        b["id"].as_str().unwrap(),
        h["id"].as_str().unwrap(),
    );
    c.upload(aid, vec![0u8; 100]).await;
    c.upload(bid, vec![0u8; 300]).await;
    let q = |query: &str| {
        let path = format!("/v2/images?{query}");
        let c = &c;
        async move {
            let (s, v) = json(c.get(&path).await).await;
            assert_eq!(s, 200, "{path}: {v}");
            let mut r = image_ids(&v);
            r.sort();
            r
        }
    };
    let mut ab = vec![aid.to_owned(), bid.to_owned()];
    ab.sort();
    assert_eq!(q("").await, ab);
    assert_eq!(q("name=alpha").await, [aid]);
    assert_eq!(q("name=in:alpha,beta").await, ab);
    assert_eq!(q(&format!("id={bid}")).await, [bid]);
    assert_eq!(q("disk_format=qcow2").await, [bid]);
    assert_eq!(q("container_format=bare").await, [aid]);
    assert_eq!(q("status=active").await, ab);
    assert_eq!(q("status=queued").await, Vec::<String>::new());
    assert_eq!(q("visibility=private").await, [aid]);
    assert_eq!(q("size_min=200").await, [bid]);
    assert_eq!(q("size_max=200").await, [aid]);
    assert_eq!(q("tag=t1").await, ab);
    assert_eq!(q("tag=t1&tag=t2").await, [aid]);
    assert_eq!(q("os_distro=debian").await, [aid]);
    assert_eq!(q("protected=true").await, [bid]);
    assert_eq!(q("protected=false").await, [aid]);
    assert_eq!(q("os_hidden=true").await, [hid]);
    assert_eq!(q("owner=p1").await, ab);
    assert_eq!(q("owner=p2").await, Vec::<String>::new());
    assert_eq!(
        q(&format!(
            "checksum={}",
            a["checksum"].as_str().unwrap_or("")
        ))
        .await
        .len(),
        0
    );
    let (_, shown) = json(c.get(&format!("/v2/images/{aid}")).await).await;
    let checksum = shown["checksum"].as_str().unwrap();
    assert_eq!(q(&format!("checksum={checksum}")).await, [aid]);
    let hash = shown["os_hash_value"].as_str().unwrap();
    assert_eq!(q(&format!("os_hash_value={hash}")).await, [aid]);
    assert_eq!(q("size=300").await, [bid]);
    assert_eq!(q("min_ram_min=1").await, Vec::<String>::new());
    assert_eq!(q("created_at=gte:2000-01-01T00:00:00Z").await, ab);
    assert_eq!(
        q("created_at=lt:2000-01-01T00:00:00Z").await,
        Vec::<String>::new()
    );
    assert_eq!(q("updated_at=gt:2000-01-01T00:00:00Z").await, ab);
    // Past MySQL's TIMESTAMP range (January 2038): bound as DATETIME, compared as such.
    assert_eq!(q("created_at=lt:2099-01-01T00:00:00Z").await, ab);
    assert_eq!(
        q("updated_at=gt:2099-01-01T00:00:00Z").await,
        Vec::<String>::new()
    );
    // Sorting by size, both syntaxes.
    for query in ["sort=size:desc", "sort_key=size&sort_dir=desc"] {
        let (_, v) = json(c.get(&format!("/v2/images?{query}")).await).await;
        assert_eq!(
            image_ids(&v),
            vec![bid.to_owned(), aid.to_owned()],
            "{query}"
        );
    }
    let (_, v) = json(c.get("/v2/images?limit=1").await).await;
    assert_eq!(image_ids(&v).len(), 1);
    // int() skips Unicode White_Space around the digits, as Glance does.
    let (s, w) = json(c.get("/v2/images?limit=%0B1%C2%A0").await).await;
    assert_eq!((s, image_ids(&w).len()), (200, 1), "{w}");
    assert_eq!(
        v["next"].as_str().unwrap(),
        format!("/v2/images?limit=1&marker={}", image_ids(&v)[0])
    );
});

backend_test!(bad_parameters, |app| async move {
    let c = app.caller("p1", "member");
    for (query, msg) in [
        ("limit=x", "limit param must be an integer"),
        // Python's int() strips only Unicode White_Space, not U+001C..U+001F.
        ("limit=%1F5", "limit param must be an integer"),
        ("limit=5%1C", "limit param must be an integer"),
        ("limit=-1", "limit param must be positive"),
        ("member_status=maybe", "Invalid status: maybe"),
        ("visibility=secret", "Invalid visibility value: secret"),
    ] {
        let (s, v) = json(c.get(&format!("/v2/images?{query}")).await).await;
        assert_eq!((s, message(&v).as_str()), (400, msg), "{query}");
    }
    for query in [
        "sort_key=bogus",
        "sort_dir=sideways",
        "sort=name:up",
        "sort=name&sort_key=id",
        "size_min=big",
        "created_at=xx:2020-01-01T00:00:00Z",
        "created_at=gt:notadate",
        "os_hidden=perhaps",
        "protected=2",
        "changes-since=2020-01-01T00:00:00Z",
        "marker=11111111-2222-3333-4444-555555555555",
    ] {
        let (s, v) = json(c.get(&format!("/v2/images?{query}")).await).await;
        assert_eq!(s, 400, "{query}: {v}");
    }
    // A marker the caller cannot see is refused as a missing one (Glance: 403).
    let other = app
        .caller("p2", "member")
        .create_image(json!({"visibility": "private"}))
        .await;
    let id = other["id"].as_str().unwrap();
    let (s, v) = json(c.get(&format!("/v2/images?marker={id}")).await).await;
    assert_eq!(
        (s, message(&v)),
        (400, format!("No image found with ID {id}"))
    );
});

backend_test!(readers_list_admin_sees_all, |app| async move {
    let p1 = app.caller("p1", "member");
    let p2 = app.caller("p2", "member");
    let a = p1.create_image(json!({"visibility": "private"})).await;
    let b = p2.create_image(json!({"visibility": "private"})).await;
    let (s, v) = json(app.caller("p1", "reader").get("/v2/images").await).await;
    assert_eq!(s, 200);
    assert_eq!(image_ids(&v), [a["id"].as_str().unwrap()]);
    let (_, v) = json(app.caller("adm", "admin").get("/v2/images").await).await;
    let got: HashSet<String> = image_ids(&v).into_iter().collect();
    assert!(got.contains(a["id"].as_str().unwrap()) && got.contains(b["id"].as_str().unwrap()));
    let (s, v) = json(app.caller("p1", "observer").get("/v2/images").await).await;
    assert_eq!(
        (s, message(&v).as_str()),
        (403, "You are not authorized to complete get_images action.")
    );
});

// Keyset paging through every candidate set a project sees (own, public, shared with it and
// accepted), on the sort keys whose marker also bounds an index range (status, created_at, id),
// with ties on the first key across page boundaries: the pages, joined, are the full list, and the
// full list is exactly the images the caller may see (not others' private or community images,
// not shares it has not accepted).
backend_test!(
    paging_over_candidate_sets_on_every_first_key,
    |app| async move {
        let admin = app.caller("adm", "admin");
        let me = app.caller("me", "member");
        let mut expected = HashSet::new();
        let make = |owner: &str, name: &str| {
            let admin = &admin;
            let (owner, name) = (owner.to_owned(), name.to_owned());
            async move {
                admin
                .create_image(json!({
                    "owner": owner, "name": name, "disk_format": "raw", "container_format": "bare"
                }))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned()
            }
        };
        for i in 0..4 {
            expected.insert(make("me", &format!("own-{i}")).await);
        }
        for i in 0..3 {
            let id = make("other", &format!("pub-{i}")).await;
            let r = admin
                .patch(
                    &format!("/v2/images/{id}"),
                    &json!([{"op": "replace", "path": "/visibility", "value": "public"}]),
                )
                .await;
            assert_eq!(r.status(), 200);
            expected.insert(id);
        }
        let owner = app.caller("other", "member");
        for (i, status) in ["accepted", "accepted", "pending", "rejected"]
            .iter()
            .enumerate()
        {
            let id = make("other", &format!("shared-{i}")).await;
            owner.add_member(&id, "me").await;
            if *status != "pending" {
                let r = me
                    .put(
                        &format!("/v2/images/{id}/members/me"),
                        &json!({"status": status}),
                    )
                    .await;
                assert_eq!(r.status(), 200);
            }
            if *status == "accepted" {
                expected.insert(id);
            }
        }
        for i in 0..2 {
            make("other", &format!("private-{i}")).await;
            let id = make("other", &format!("community-{i}")).await;
            let r = admin
                .patch(
                    &format!("/v2/images/{id}"),
                    &json!([{"op": "replace", "path": "/visibility", "value": "community"}]),
                )
                .await;
            assert_eq!(r.status(), 200);
        }
        // An active image gives the status key two values to page across.
        let own_active = make("me", "own-active").await;
        let r = me.upload(&own_active, b"data".to_vec()).await;
        assert_eq!(r.status(), 204);
        expected.insert(own_active.clone());

        for sort in [
            "",
            "sort=status:asc",
            "sort=status:desc,name:asc",
            "sort=created_at:asc",
            "sort=created_at:desc",
            "sort=id:asc",
            "sort=id:desc",
            "sort=status:desc,id:asc",
        ] {
            let sep = if sort.is_empty() { "" } else { "&" };
            let (s, all) = json(me.get(&format!("/v2/images?limit=1000{sep}{sort}")).await).await;
            assert_eq!(s, 200, "{sort}: {all}");
            let all = image_ids(&all);
            assert_eq!(
                all.iter().cloned().collect::<HashSet<_>>(),
                expected,
                "{sort}"
            );
            assert_eq!(all.len(), expected.len(), "{sort}");
            let mut paged = Vec::new();
            let mut next = Some(format!("/v2/images?limit=2{sep}{sort}"));
            while let Some(path) = next {
                let (s, v) = json(me.get(&path).await).await;
                assert_eq!(s, 200, "{path}: {v}");
                paged.extend(image_ids(&v));
                next = v["next"].as_str().map(str::to_owned);
                assert!(
                    paged.len() <= expected.len() + 2,
                    "{sort}: paging does not end"
                );
            }
            assert_eq!(paged, all, "{sort}");
        }
    }
);

// Above 64 images a page reads properties and tags with one statement for the page instead
// of a JSON column per image (`db::list::page`): both paths must give each image its own.
backend_test!(
    large_page_carries_each_images_properties_and_tags,
    |app| async move {
        let c = app.caller("p1", "member");
        let mut want = std::collections::HashMap::new();
        for i in 0..70 {
            let tags: Vec<String> = if i % 7 == 0 {
                Vec::new()
            } else {
                vec![format!("t{i}"), "all".to_owned()]
            };
            let mut body = json!({"name": format!("img-{i:02}"), "tags": tags});
            if i % 5 != 0 {
                body["k"] = json!(format!("v{i}"));
            }
            let id = c.create_image(body).await["id"]
                .as_str()
                .unwrap()
                .to_owned();
            want.insert(id, (i, tags));
        }
        // Removed children must not come back with the page.
        let (gone, _) = want.iter().find(|(_, (i, _))| *i == 3).unwrap();
        let gone = gone.clone();
        let r = c
        .patch(
            &format!("/v2/images/{gone}"),
            &json!([{"op": "remove", "path": "/k"}, {"op": "replace", "path": "/tags", "value": ["t3"]}]),
        )
        .await;
        assert_eq!(r.status(), 200);
        want.get_mut(&gone).unwrap().1 = vec!["t3".to_owned()];

        let (s, big) = json(c.get("/v2/images?limit=1000").await).await;
        assert_eq!(s, 200, "{big}");
        let big = big["images"].as_array().unwrap().clone();
        assert_eq!(big.len(), 70);
        for img in &big {
            let id = img["id"].as_str().unwrap();
            let (i, tags) = &want[id];
            let mut got: Vec<String> = img["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned())
                .collect();
            got.sort();
            let mut tags = tags.clone();
            tags.sort();
            assert_eq!(got, tags, "tags of img-{i:02}");
            let k = if i % 5 != 0 && id != gone {
                json!(format!("v{i}"))
            } else {
                serde_json::Value::Null
            };
            assert_eq!(img["k"], k, "property k of img-{i:02}");
        }
        // The same images, in the same order and with the same bodies, as small pages give them.
        let mut small = Vec::new();
        let mut next = Some("/v2/images?limit=10".to_owned());
        while let Some(path) = next {
            let (s, v) = json(c.get(&path).await).await;
            assert_eq!(s, 200, "{path}: {v}");
            small.extend(v["images"].as_array().unwrap().iter().cloned());
            next = v["next"].as_str().map(str::to_owned);
            assert!(small.len() <= 80, "paging does not end");
        }
        assert_eq!(small, big);
    }
);
