// Command glint-gophercloud replays, with gophercloud 0.12 (Debian's golang-github-gophercloud-gophercloud-dev),
// the request sequences of the Terraform OpenStack provider's image resources against a running glint that
// is registered as the `image` service in the real Keystone's catalog:
//
//   - version discovery as the provider's gophercloud v2 does it (utils.GetServiceVersions on the catalog URL:
//     200 or 300 with a parsable versions document that has a v2.N entry)
//   - openstack_images_image_v2: create, upload, poll until active, compare the md5 checksum, read, update,
//     delete, 404 treated as gone
//   - openstack_images_image_access_v2 (owner side): create member, read, set status as admin, import by
//     image_id/member_id, delete, 404 treated as gone; and the provider's acceptance-test shape: an admin shares
//     the image with its own project and sets `accepted` at create time
//   - openstack_images_image_access_accept_v2 (consumer side): list members and find exactly one, set accepted,
//     read, import, update to rejected, destroy sets rejected (404 tolerated once the owner removed the member)
//
// Every step prints `PASS  <step>` or `FAIL  <step>: <why>`; the last line is `N passed, M failed`; the exit
// status is 1 when anything failed. gophercloud rejects any status code outside each call's expected set, so
// an unexpected status code fails the step. GOPHER_TRACE=1 prints every HTTP exchange.
//
// Configuration (environment; tests/gophercloud/run.sh exports it from $GLINT_WORK/glint/env):
// KEYSTONE_AUTH_URL, KEYSTONE_REGION (RegionOne), ALPHA_PROJECT_ID, BETA_PROJECT_ID; users alice (member,
// alpha), bob (member, beta), adam (admin, alpha) with passwords pass-<user>. GLINT_POLL_DELAY (seconds,
// default 1): the provider waits 10 s before its first poll and then polls every >= 3 s; the test keeps the
// sequence but not the waits.
package main

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"io/ioutil"
	"math/rand"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud"
	"github.com/gophercloud/gophercloud/openstack"
	"github.com/gophercloud/gophercloud/openstack/imageservice/v2/imagedata"
	"github.com/gophercloud/gophercloud/openstack/imageservice/v2/images"
	"github.com/gophercloud/gophercloud/openstack/imageservice/v2/members"
)

// ---------------------------------------------------------------------------------------------------------
// HTTP trace: every exchange is remembered so that a failing step can show what was on the wire.

type exchange struct {
	who, method, url string
	status           int
	reqBody, body    string
	err              error
}

type tracer struct {
	who  string
	next http.RoundTripper
}

var (
	traceMu  sync.Mutex
	traceLog []exchange
	traceAll = os.Getenv("GOPHER_TRACE") != ""
)

func snippet(b []byte) string {
	s := string(b)
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return strings.ReplaceAll(s, "\n", `\n`)
}

func (t tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchange{who: t.who, method: req.Method, url: req.URL.String()}
	ct := req.Header.Get("Content-Type")
	if req.Body != nil && req.GetBody != nil && !strings.Contains(ct, "octet-stream") && !strings.Contains(req.URL.Path, "/auth/tokens") {
		if rc, err := req.GetBody(); err == nil {
			b, _ := ioutil.ReadAll(rc)
			ex.reqBody = snippet(b)
		}
	}
	if strings.Contains(ct, "octet-stream") {
		ex.reqBody = fmt.Sprintf("<binary, Content-Length %d (0 with a body: chunked)>", req.ContentLength)
	}
	resp, err := t.next.RoundTrip(req)
	ex.err = err
	if resp != nil {
		ex.status = resp.StatusCode
		rct := resp.Header.Get("Content-Type")
		if !strings.Contains(rct, "octet-stream") && !strings.Contains(req.URL.Path, "/auth/tokens") {
			b, _ := ioutil.ReadAll(io.LimitReader(resp.Body, 4096))
			ex.body = snippet(b)
			resp.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
		}
	}
	traceMu.Lock()
	traceLog = append(traceLog, ex)
	traceMu.Unlock()
	if traceAll {
		fmt.Printf("        > %s\n", ex)
	}
	return resp, err
}

func (e exchange) String() string {
	s := fmt.Sprintf("[%s] %s %s", e.who, e.method, e.url)
	if e.reqBody != "" {
		s += " body=" + e.reqBody
	}
	if e.err != nil {
		return s + " -> error " + e.err.Error()
	}
	s += fmt.Sprintf(" -> %d", e.status)
	if e.body != "" {
		s += " " + e.body
	}
	return s
}

func traceMark() int { traceMu.Lock(); defer traceMu.Unlock(); return len(traceLog) }

func traceSince(mark int) []exchange {
	traceMu.Lock()
	defer traceMu.Unlock()
	return append([]exchange(nil), traceLog[mark:]...)
}

// ---------------------------------------------------------------------------------------------------------
// steps

var passed, failed int

func step(name string, f func() error) bool {
	mark := traceMark()
	start := time.Now()
	err := f()
	d := time.Since(start).Round(time.Millisecond)
	if err == nil {
		passed++
		fmt.Printf("PASS  %s (%s)\n", name, d)
		return true
	}
	failed++
	fmt.Printf("FAIL  %s: %v\n", name, err)
	ex := traceSince(mark)
	if len(ex) > 6 {
		ex = ex[len(ex)-6:]
	}
	for _, e := range ex {
		fmt.Printf("        | %s\n", e)
	}
	return false
}

func notRun(names ...string) {
	for _, n := range names {
		failed++
		fmt.Printf("FAIL  %s: not run (an earlier step it depends on failed)\n", n)
	}
}

func expect(cond bool, format string, a ...interface{}) error {
	if cond {
		return nil
	}
	return fmt.Errorf(format, a...)
}

// is404 is the provider's CheckDeleted test: a 404 means the resource is gone.
func is404(err error) bool {
	switch err.(type) {
	case gophercloud.ErrDefault404, *gophercloud.ErrDefault404:
		return true
	}
	return false
}

var tsRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

// ---------------------------------------------------------------------------------------------------------
// clients

type env struct {
	authURL, region, alpha, beta string
	pollDelay                    time.Duration
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func client(e env, user, project string) (*gophercloud.ProviderClient, *gophercloud.ServiceClient, error) {
	opts := gophercloud.AuthOptions{
		IdentityEndpoint: e.authURL,
		Username:         user,
		Password:         "pass-" + user,
		DomainID:         "default",
		TenantName:       project,
		AllowReauth:      true,
	}
	pc, err := openstack.AuthenticatedClient(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("authenticating %s on %s: %v", user, project, err)
	}
	// from here on every request (re-authentication included) goes through the tracer
	pc.HTTPClient = http.Client{Transport: tracer{who: user + "@" + project, next: http.DefaultTransport}, Timeout: 120 * time.Second}
	sc, err := openstack.NewImageServiceV2(pc, gophercloud.EndpointOpts{Region: e.region, Availability: gophercloud.AvailabilityPublic})
	if err != nil {
		return nil, nil, fmt.Errorf("image endpoint from the catalog (region %s): %v", e.region, err)
	}
	return pc, sc, nil
}

// ---------------------------------------------------------------------------------------------------------
// version discovery: gophercloud v2's utils.GetServiceVersions, which the provider's client set-up runs on
// the catalog URL (EndpointSupportsVersion): OkCodes 200 and 300, the `versions` array parsed, every id
// `v?MAJOR(.MINOR)?`, every status CURRENT/STABLE/SUPPORTED/DEPRECATED/empty, some entry with major 2.

var versionRe = regexp.MustCompile(`^v?([0-9]+)(\.([0-9]+))?$`)

func discover(pc *gophercloud.ProviderClient, endpoint string) error {
	var doc struct {
		Versions []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Links  []struct {
				Href string `json:"href"`
				Rel  string `json:"rel"`
			} `json:"links"`
		} `json:"versions"`
	}
	resp, err := pc.Request("GET", endpoint, &gophercloud.RequestOpts{JSONResponse: &doc, OkCodes: []int{200, 300}})
	if err != nil {
		return fmt.Errorf("GET %s: %v", endpoint, err)
	}
	if len(doc.Versions) == 0 {
		return fmt.Errorf("GET %s answered %d without a versions array", endpoint, resp.StatusCode)
	}
	var majors2 []string
	for _, v := range doc.Versions {
		m := versionRe.FindStringSubmatch(v.ID)
		if m == nil {
			return fmt.Errorf("version id %q does not parse", v.ID)
		}
		switch strings.ToUpper(v.Status) {
		case "CURRENT", "STABLE", "SUPPORTED", "DEPRECATED", "":
		default:
			return fmt.Errorf("version %s has status %q, which gophercloud rejects", v.ID, v.Status)
		}
		if m[1] == "2" {
			majors2 = append(majors2, v.ID)
			if len(v.Links) == 0 || !strings.HasSuffix(v.Links[0].Href, "/v2/") {
				return fmt.Errorf("version %s: self link %v does not end in /v2/", v.ID, v.Links)
			}
		}
	}
	if len(majors2) == 0 {
		return fmt.Errorf("no v2.N entry in %v", doc.Versions)
	}
	fmt.Printf("        GET %s -> %d, v2 entries %v\n", endpoint, resp.StatusCode, majors2)
	return nil
}

// ---------------------------------------------------------------------------------------------------------
// openstack_images_image_v2 helpers (the provider's Create: images.Create, imagedata.Upload, StateChangeConf
// on images.Get with pending queued/saving/importing and target active, images.Get, md5 comparison; Read)

func waitActive(sc *gophercloud.ServiceClient, id string, delay time.Duration) (*images.Image, error) {
	pending := map[string]bool{string(images.ImageStatusQueued): true, string(images.ImageStatusSaving): true, string(images.ImageStatusImporting): true}
	deadline := time.Now().Add(2 * time.Minute)
	time.Sleep(delay)
	for {
		img, err := images.Get(sc, id).Extract()
		if err != nil {
			return nil, err
		}
		st := string(img.Status)
		if st == string(images.ImageStatusActive) {
			return img, nil
		}
		if !pending[st] {
			return nil, fmt.Errorf("unexpected state '%s', wanted target 'active'", st)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("timeout while waiting for state to become 'active' (last state: '%s')", st)
		}
		time.Sleep(delay)
	}
}

func checkImageRead(img *images.Image, want map[string]string) error {
	var errs []string
	add := func(cond bool, f string, a ...interface{}) {
		if !cond {
			errs = append(errs, fmt.Sprintf(f, a...))
		}
	}
	add(img.ID == want["id"], "id %q", img.ID)
	add(img.Name == want["name"], "name %q, want %q", img.Name, want["name"])
	add(img.Owner == want["owner"], "owner %q, want %q", img.Owner, want["owner"])
	add(string(img.Status) == "active", "status %q", img.Status)
	add(string(img.Visibility) == want["visibility"], "visibility %q, want %q", img.Visibility, want["visibility"])
	add(img.ContainerFormat == "bare" && img.DiskFormat == "raw", "formats %q/%q", img.ContainerFormat, img.DiskFormat)
	add(img.Checksum == want["checksum"], "checksum %q, want %q", img.Checksum, want["checksum"])
	add(strconv.FormatInt(img.SizeBytes, 10) == want["size"], "size %d, want %s", img.SizeBytes, want["size"])
	add(img.File == "/v2/images/"+img.ID+"/file", "file %q", img.File)
	add(img.Schema == "/v2/schemas/image", "schema %q", img.Schema)
	add(!img.Protected && img.MinDiskGigabytes == 0 && img.MinRAMMegabytes == 0, "protected/min_disk/min_ram %v/%d/%d", img.Protected, img.MinDiskGigabytes, img.MinRAMMegabytes)
	add(!img.CreatedAt.IsZero() && !img.UpdatedAt.IsZero(), "created_at/updated_at zero: %v/%v", img.CreatedAt, img.UpdatedAt)
	tags := append([]string(nil), img.Tags...)
	sort.Strings(tags)
	add(strings.Join(tags, ",") == want["tags"], "tags %v, want %s", img.Tags, want["tags"])
	for k, v := range want {
		if strings.HasPrefix(k, "prop:") {
			got, _ := img.Properties[strings.TrimPrefix(k, "prop:")].(string)
			add(got == v, "property %s = %q, want %q", strings.TrimPrefix(k, "prop:"), got, v)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("read: %s", strings.Join(errs, "; "))
	}
	return nil
}

// ---------------------------------------------------------------------------------------------------------
// openstack_images_image_access_v2 / _accept_v2 helpers

// readMember is both resources' Read: members.Get; a 404 drops the resource from the state.
func readMember(sc *gophercloud.ServiceClient, imageID, memberID, wantStatus string) error {
	m, err := members.Get(sc, imageID, memberID).Extract()
	if err != nil {
		return err
	}
	var errs []string
	if m.ImageID != imageID || m.MemberID != memberID {
		errs = append(errs, fmt.Sprintf("image_id/member_id %q/%q", m.ImageID, m.MemberID))
	}
	if m.Status != wantStatus {
		errs = append(errs, fmt.Sprintf("status %q, want %q", m.Status, wantStatus))
	}
	if m.Schema != "/v2/schemas/member" {
		errs = append(errs, fmt.Sprintf("schema %q", m.Schema))
	}
	// the provider stores created_at/updated_at re-formatted as RFC 3339
	c, u := m.CreatedAt.Format(time.RFC3339), m.UpdatedAt.Format(time.RFC3339)
	if m.CreatedAt.IsZero() || !tsRe.MatchString(c) || !tsRe.MatchString(u) || m.UpdatedAt.Before(m.CreatedAt) {
		errs = append(errs, fmt.Sprintf("created_at/updated_at %s/%s", c, u))
	}
	if len(errs) > 0 {
		return fmt.Errorf("read member: %s", strings.Join(errs, "; "))
	}
	return nil
}

// detectMemberID is resourceImagesImageAccessV2DetectMemberID: list as the consumer, exactly one row.
func detectMemberID(sc *gophercloud.ServiceClient, imageID string) (string, error) {
	pages, err := members.List(sc, imageID).AllPages()
	if err != nil {
		return "", fmt.Errorf("Unable to list image members: %s", err)
	}
	all, err := members.ExtractMembers(pages)
	if err != nil {
		return "", fmt.Errorf("Unable to extract image members: %s", err)
	}
	if len(all) == 0 {
		return "", fmt.Errorf("No members found for the %q image", imageID)
	}
	if len(all) > 1 {
		return "", fmt.Errorf("Too many members found for the %q image, please specify the member_id explicitly", imageID)
	}
	return all[0].MemberID, nil
}

// parseID is resourceImagesImageAccessV2ParseID.
func parseID(id string) (string, string, error) {
	p := strings.Split(id, "/")
	if len(p) < 2 {
		return "", "", fmt.Errorf("Unable to determine image share access ID")
	}
	return p[0], p[1], nil
}

func updateStatus(sc *gophercloud.ServiceClient, imageID, memberID, status string) error {
	m, err := members.Update(sc, imageID, memberID, members.UpdateOpts{Status: status}).Extract()
	if err != nil {
		return err
	}
	return expect(m.Status == status && m.MemberID == memberID && m.ImageID == imageID,
		"update answered member %+v, want status %s", *m, status)
}

// ---------------------------------------------------------------------------------------------------------

func main() {
	start := time.Now()
	e := env{
		authURL: getenv("KEYSTONE_AUTH_URL", "http://127.0.0.1:5000/v3"),
		region:  getenv("KEYSTONE_REGION", "RegionOne"),
		alpha:   os.Getenv("ALPHA_PROJECT_ID"),
		beta:    os.Getenv("BETA_PROJECT_ID"),
	}
	if e.alpha == "" || e.beta == "" {
		fmt.Println("glint-gophercloud: ALPHA_PROJECT_ID and BETA_PROJECT_ID must be set (see run.sh)")
		os.Exit(2)
	}
	delay, err := strconv.ParseFloat(getenv("GLINT_POLL_DELAY", "1"), 64)
	if err != nil {
		delay = 1
	}
	e.pollDelay = time.Duration(delay * float64(time.Second))
	rand.Seed(time.Now().UnixNano())
	name := fmt.Sprintf("glint-gophercloud-%d-%04d", time.Now().Unix(), rand.Intn(10000))

	defer func() {
		fmt.Printf("%d passed, %d failed\n", passed, failed)
		fmt.Printf("        (%s)\n", time.Since(start).Round(time.Millisecond))
		if failed > 0 {
			os.Exit(1)
		}
	}()

	// -- clients: owner alice@alpha, consumer bob@beta, admin adam@alpha; image endpoint from the catalog
	var ownerPC *gophercloud.ProviderClient
	var owner, consumer, admin *gophercloud.ServiceClient
	if !step("authenticate alice@alpha, bob@beta, adam@alpha; image endpoint from the catalog ("+e.region+", public)", func() error {
		var err error
		if ownerPC, owner, err = client(e, "alice", "alpha"); err != nil {
			return err
		}
		if _, consumer, err = client(e, "bob", "beta"); err != nil {
			return err
		}
		if _, admin, err = client(e, "adam", "alpha"); err != nil {
			return err
		}
		return expect(strings.HasSuffix(owner.ResourceBase, "/v2/"), "ResourceBase %q", owner.ResourceBase)
	}) {
		return
	}
	fmt.Printf("        image endpoint %s (resources under %s)\n", owner.Endpoint, owner.ResourceBase)

	step("version discovery: the unversioned catalog endpoint answers 200/300 with a v2.N entry", func() error {
		return discover(ownerPC, owner.Endpoint)
	})

	// -- openstack_images_image_v2 (owner): create, upload, poll until active, md5, read
	data := make([]byte, 3*1024*1024+17)
	rand.Read(data)
	sum := md5.Sum(data)
	checksum := hex.EncodeToString(sum[:])
	path := fmt.Sprintf("%s/%s.raw", getenv("TMPDIR", "/tmp"), name)
	if err := ioutil.WriteFile(path, data, 0o600); err != nil {
		fmt.Println("glint-gophercloud: cannot write", path, err)
		os.Exit(2)
	}
	defer os.Remove(path)

	var imageID string
	deleted := false
	defer func() {
		if imageID != "" && !deleted {
			if err := images.Delete(owner, imageID).ExtractErr(); err != nil && !is404(err) {
				fmt.Printf("        cleanup: deleting image %s: %v\n", imageID, err)
			}
		}
	}()
	visibility := images.ImageVisibilityShared
	protected := false
	if !step("images_image_v2 create: POST /v2/images -> 201, queued", func() error {
		img, err := images.Create(owner, images.CreateOpts{
			Name: name, ContainerFormat: "bare", DiskFormat: "raw", MinDisk: 0, MinRAM: 0,
			Protected: &protected, Visibility: &visibility,
			Properties: map[string]string{"glint_test": "gophercloud", "os_distro": "cirros"},
			Tags:       []string{"glint", "terraform"},
		}).Extract()
		if err != nil {
			return err
		}
		imageID = img.ID
		return expect(string(img.Status) == "queued" && string(img.Visibility) == "shared" && img.Name == name,
			"created image status %q visibility %q name %q", img.Status, img.Visibility, img.Name)
	}) {
		notRun("every further step")
		return
	}
	step("images_image_v2 upload: PUT /v2/images/{id}/file (chunked, application/octet-stream) -> 204", func() error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return imagedata.Upload(owner, imageID, f).ExtractErr()
	})
	want := map[string]string{"id": imageID, "name": name, "owner": e.alpha, "visibility": "shared", "checksum": checksum,
		"size": strconv.Itoa(len(data)), "tags": "glint,terraform", "prop:glint_test": "gophercloud", "prop:os_distro": "cirros"}
	step("images_image_v2 poll until active, then GET and compare the md5 checksum", func() error {
		if _, err := waitActive(owner, imageID, e.pollDelay); err != nil {
			return fmt.Errorf("Error waiting for Image: %v", err)
		}
		img, err := images.Get(owner, imageID).Extract()
		if err != nil {
			return err
		}
		return expect(img.Checksum == checksum, "Error wrong checksum: got %q, expected %q", img.Checksum, checksum)
	})
	step("images_image_v2 read: every attribute the provider stores", func() error {
		img, err := images.Get(owner, imageID).Extract()
		if err != nil {
			return err
		}
		return checkImageRead(img, want)
	})
	step("images_image_v2 update: one PATCH (v2.1 media type) with name replace and property add/replace/remove -> 200", func() error {
		name = name + "-renamed"
		img, err := images.Update(owner, imageID, images.UpdateOpts{
			images.ReplaceImageName{NewName: name},
			images.UpdateImageProperty{Op: images.AddOp, Name: "glint_extra", Value: "x"},
			images.UpdateImageProperty{Op: images.ReplaceOp, Name: "glint_test", Value: "gophercloud2"},
			images.UpdateImageProperty{Op: images.RemoveOp, Name: "os_distro"},
		}).Extract()
		if err != nil {
			return err
		}
		want["name"] = name
		want["prop:glint_test"] = "gophercloud2"
		want["prop:glint_extra"] = "x"
		delete(want, "prop:os_distro")
		if err := checkImageRead(img, want); err != nil {
			return err
		}
		if _, ok := img.Properties["os_distro"]; ok {
			return fmt.Errorf("os_distro still present after remove")
		}
		return nil
	})
	step("imagedata download (owner): GET /v2/images/{id}/file -> 200, same bytes", func() error {
		r := imagedata.Download(owner, imageID)
		if r.Err != nil {
			return r.Err
		}
		b, err := r.Extract()
		if err != nil {
			return err
		}
		defer b.Close()
		got, err := ioutil.ReadAll(b)
		if err != nil {
			return err
		}
		return expect(bytes.Equal(got, data), "downloaded %d bytes, differ from the %d uploaded", len(got), len(data))
	})

	// -- openstack_images_image_access_v2, acceptance-test shape: an admin shares the image with its own project
	//    and configures status = accepted (Create: members.Create, members.Update, Read), then destroys it.
	step("images_image_access_v2 create as admin with status=accepted, member = own project: POST members -> 200, PUT -> 200, read", func() error {
		if _, err := members.Create(admin, imageID, e.alpha).Extract(); err != nil {
			return fmt.Errorf("Error sharing a %q image with the %q member: %v", imageID, e.alpha, err)
		}
		if err := updateStatus(admin, imageID, e.alpha, "accepted"); err != nil {
			return fmt.Errorf("Error updating the %q image with the %q member: %v", imageID, e.alpha, err)
		}
		return readMember(admin, imageID, e.alpha, "accepted")
	})
	step("images_image_access_v2 destroy (admin, own project): DELETE member -> 204", func() error {
		return members.Delete(admin, imageID, e.alpha).ExtractErr()
	})

	// -- openstack_images_image_access_v2 (owner alice shares with beta; no status configured)
	accessID := ""
	if !step("images_image_access_v2 create: POST /v2/images/{id}/members {member: beta} -> 200 pending", func() error {
		m, err := members.Create(owner, imageID, e.beta).Extract()
		if err != nil {
			return fmt.Errorf("Error sharing a %q image with the %q member: %v", imageID, e.beta, err)
		}
		accessID = fmt.Sprintf("%s/%s", imageID, e.beta)
		return expect(m.Status == "pending" && m.MemberID == e.beta && m.ImageID == imageID && m.Schema == "/v2/schemas/member",
			"created member %+v", *m)
	}) {
		notRun("images_image_access_v2 read/admin status/import/delete", "images_image_access_accept_v2 sequence")
		return
	}
	step("images_image_access_v2 read: GET member -> 200 pending, image_id/member_id/schema/timestamps", func() error {
		img, mem, err := parseID(accessID)
		if err != nil {
			return err
		}
		return readMember(owner, img, mem, "pending")
	})
	step("images_image_access_v2 owner sets status (not admin): PUT -> 403, as Glance's policy answers", func() error {
		err := members.Update(owner, imageID, e.beta, members.UpdateOpts{Status: "accepted"}).Err
		if _, ok := err.(gophercloud.ErrDefault403); ok {
			return nil
		}
		return fmt.Errorf("want a 403, got %v", err)
	})
	step("images_image_access_v2 update status as admin: PUT {status: rejected} -> 200, read rejected", func() error {
		if err := updateStatus(admin, imageID, e.beta, "rejected"); err != nil {
			return err
		}
		return readMember(admin, imageID, e.beta, "rejected")
	})
	step("images_image_access_v2 update status as admin back to pending: PUT -> 200, owner reads pending", func() error {
		if err := updateStatus(admin, imageID, e.beta, "pending"); err != nil {
			return err
		}
		return readMember(owner, imageID, e.beta, "pending")
	})
	step("images_image_access_v2 import \""+"<image_id>/<member_id>"+"\": passthrough id, then read", func() error {
		img, mem, err := parseID(imageID + "/" + e.beta)
		if err != nil {
			return err
		}
		return readMember(owner, img, mem, "pending")
	})

	// -- openstack_images_image_access_accept_v2 (consumer bob)
	acceptID := ""
	step("images_image_access_accept_v2 create: list members as consumer -> exactly one (own) row; PUT accepted -> 200; read", func() error {
		mem, err := detectMemberID(consumer, imageID)
		if err != nil {
			return err
		}
		if mem != e.beta {
			return fmt.Errorf("detected member %q, want %q", mem, e.beta)
		}
		if err := updateStatus(consumer, imageID, mem, "accepted"); err != nil {
			return fmt.Errorf("Error setting a member status to the %q image share for the %q member: %v", imageID, mem, err)
		}
		acceptID = imageID + "/" + mem
		return readMember(consumer, imageID, mem, "accepted")
	})
	step("images_image_access_accept_v2 consumer sees the accepted image: GET image and list ?member_status=accepted&visibility=shared", func() error {
		img, err := images.Get(consumer, imageID).Extract()
		if err != nil {
			return err
		}
		if img.Owner != e.alpha || string(img.Visibility) != "shared" {
			return fmt.Errorf("consumer GET image: owner %q visibility %q", img.Owner, img.Visibility)
		}
		pages, err := images.List(consumer, images.ListOpts{Visibility: images.ImageVisibilityShared, MemberStatus: images.ImageMemberStatusAccepted}).AllPages()
		if err != nil {
			return err
		}
		all, err := images.ExtractImages(pages)
		if err != nil {
			return err
		}
		for _, i := range all {
			if i.ID == imageID {
				return nil
			}
		}
		return fmt.Errorf("image %s not in the consumer's accepted shared list (%d images)", imageID, len(all))
	})
	step("images_image_access_accept_v2 owner reads the access resource: status accepted", func() error {
		return readMember(owner, imageID, e.beta, "accepted")
	})
	step("images_image_access_accept_v2 import by image_id alone (member detected via list) and by image_id/member_id, then read", func() error {
		mem, err := detectMemberID(consumer, imageID)
		if err != nil {
			return err
		}
		if mem != e.beta {
			return fmt.Errorf("detected member %q", mem)
		}
		img, mem2, err := parseID(acceptID)
		if err != nil {
			return err
		}
		return readMember(consumer, img, mem2, "accepted")
	})
	step("images_image_access_accept_v2 update: PUT {status: rejected} -> 200; read rejected", func() error {
		if err := updateStatus(consumer, imageID, e.beta, "rejected"); err != nil {
			return err
		}
		return readMember(consumer, imageID, e.beta, "rejected")
	})
	step("images_image_access_accept_v2 update back to accepted: PUT -> 200; read accepted", func() error {
		if err := updateStatus(consumer, imageID, e.beta, "accepted"); err != nil {
			return err
		}
		return readMember(consumer, imageID, e.beta, "accepted")
	})
	step("images_image_access_accept_v2 destroy: PUT {status: rejected} -> 200 (the row stays)", func() error {
		if err := updateStatus(consumer, imageID, e.beta, "rejected"); err != nil {
			return fmt.Errorf("Error rejecting the openstack_images_image_access_accept_v2: %v", err)
		}
		return readMember(owner, imageID, e.beta, "rejected")
	})
	step("images_image_access_v2 (owner) refresh after the consumer's destroy: read rejected", func() error {
		return readMember(owner, imageID, e.beta, "rejected")
	})

	// -- openstack_images_image_access_v2 destroy (owner) and 404 handling
	step("images_image_access_v2 destroy: DELETE /v2/images/{id}/members/{beta} -> 204", func() error {
		return members.Delete(owner, imageID, e.beta).ExtractErr()
	})
	step("images_image_access_v2 read after destroy: GET member -> 404, treated as gone", func() error {
		err := readMember(owner, imageID, e.beta, "rejected")
		return expect(is404(err), "want a 404, got %v", err)
	})
	step("images_image_access_v2 destroy again: DELETE -> 404, treated as gone", func() error {
		err := members.Delete(owner, imageID, e.beta).ExtractErr()
		return expect(is404(err), "want a 404, got %v", err)
	})
	step("images_image_access_accept_v2 read after the owner removed the member: GET -> 404, treated as gone", func() error {
		err := readMember(consumer, imageID, e.beta, "rejected")
		return expect(is404(err), "want a 404, got %v", err)
	})
	step("images_image_access_accept_v2 destroy after the owner removed the member: PUT -> 404, treated as gone", func() error {
		err := members.Update(consumer, imageID, e.beta, members.UpdateOpts{Status: "rejected"}).Err
		return expect(is404(err), "want a 404, got %v", err)
	})

	// -- openstack_images_image_v2 destroy
	step("images_image_v2 destroy: DELETE /v2/images/{id} -> 204", func() error {
		if err := images.Delete(owner, imageID).ExtractErr(); err != nil {
			return fmt.Errorf("Error deleting Image: %v", err)
		}
		deleted = true
		return nil
	})
	step("images_image_v2 read after destroy: GET -> 404, treated as gone; DELETE again -> 404, treated as gone", func() error {
		_, err := images.Get(owner, imageID).Extract()
		if !is404(err) {
			return fmt.Errorf("GET: want a 404, got %v", err)
		}
		err = images.Delete(owner, imageID).ExtractErr()
		return expect(is404(err), "DELETE: want a 404, got %v", err)
	})
}
