{{/*
Chart name, truncated to 63 characters (a DNS label).
*/}}
{{- define "signpost.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's objects: the release name, plus the chart name
unless the release name already contains it ("signpost" stays "signpost").
*/}}
{{- define "signpost.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "signpost.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The standard app.kubernetes.io labels on every object but the component.
*/}}
{{- define "signpost.commonLabels" -}}
helm.sh/chart: {{ include "signpost.chart" . }}
{{ include "signpost.selectorLabels" . }}
app.kubernetes.io/version: {{ include "signpost.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: signpost
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The labels of every object of the server (the helm test pod is component "test").
*/}}
{{- define "signpost.labels" -}}
{{ include "signpost.commonLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/*
Selector labels: stable for the life of the release (a Deployment's selector is
immutable, so it stays these two; no ReplicaSet adopts the helm test pod, which
lacks pod-template-hash).
*/}}
{{- define "signpost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "signpost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The server's pods and nothing else (not the helm test pod, which also carries the
selector labels): what the Service, the PodDisruptionBudget, the NetworkPolicy and
the topology spread select.
*/}}
{{- define "signpost.podSelectorLabels" -}}
{{ include "signpost.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end }}

{{/*
Name of the ServiceAccount the pods run as.
*/}}
{{- define "signpost.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "signpost.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image tag: image.tag, else the chart's appVersion.
*/}}
{{- define "signpost.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/*
"true" when the kubelet can run the preStop sleep action (Kubernetes 1.30+,
where PodLifecycleSleepAction is on by default) and a sleep is configured.
Otherwise the same wait is done by the server itself through SHUTDOWN_DELAY.
*/}}
{{- define "signpost.preStopSleep" -}}
{{- if and (gt (int .Values.shutdown.preStopSleepSeconds) 0) (semverCompare ">=1.30-0" .Capabilities.KubeVersion.Version) }}true{{ end }}
{{- end }}

{{/*
SHUTDOWN_DELAY: shutdown.delaySeconds when preStop sleeps (the endpoints wait
already happened before SIGTERM; the delay lets keep-alive clients leave on
Connection: close), else the sleep's wait and the delay together.
*/}}
{{- define "signpost.shutdownDelay" -}}
{{- if include "signpost.preStopSleep" . }}{{ int .Values.shutdown.delaySeconds }}s{{ else }}{{ add (int .Values.shutdown.preStopSleepSeconds) (int .Values.shutdown.delaySeconds) }}s{{ end }}
{{- end }}

{{/*
Name of the sqlite PersistentVolumeClaim.
*/}}
{{- define "signpost.pvcName" -}}
{{- default (printf "%s-data" (include "signpost.fullname" .)) .Values.database.sqlite.persistence.existingClaim }}
{{- end }}

{{/*
Fail early, with a clear message, on combinations the schema cannot express.
*/}}
{{- define "signpost.validate" -}}
{{- /* Env names the chart sets, and the value each comes from. */}}
{{- $reserved := dict "DATABASE_URL" "database.mode and secrets" "HTTP_ADDR" "service.targetPort" "SHUTDOWN_DELAY" "shutdown.delaySeconds" "SHUTDOWN_TIMEOUT" "shutdown.timeout" "DEBUG_ADDR" "debug.addr" "PYROSCOPE_SERVER" "pyroscope.server" "METRICS_ADDR" "metrics.port" }}
{{- range $name, $_ := .Values.env }}
{{- if hasKey $reserved $name }}
{{- fail (printf "env.%s is set by the chart; use %s instead (see values.yaml)" $name (get $reserved $name)) }}
{{- end }}
{{- end }}
{{- /* metrics.port (0 or null: off) must not collide with the other listeners;
JSON Schema cannot compare two values, so the range is in the schema and this here. */}}
{{- with .Values.metrics.port }}
{{- $port := int . }}
{{- if eq $port (int $.Values.service.targetPort) }}
{{- fail (printf "metrics.port %d is also service.targetPort, the public http port: pick another port, or 0 to keep /metrics on the http port" $port) }}
{{- end }}
{{- $debug := $.Values.debug.addr | default "off" }}
{{- if and (ne $debug "off") (eq $port (atoi (splitList ":" $debug | last))) }}
{{- fail (printf "metrics.port %d is also the port of debug.addr %s (pprof): pick another port" $port $debug) }}
{{- end }}
{{- end }}
{{- $fromSecrets := list }}
{{- range .Values.secrets }}
{{- if hasKey $.Values.env .name }}
{{- fail (printf "%s is set both in env and in secrets" .name) }}
{{- end }}
{{- if has .name $fromSecrets }}
{{- fail (printf "%s appears twice in secrets" .name) }}
{{- end }}
{{- $fromSecrets = append $fromSecrets .name }}
{{- end }}
{{- if and (eq .Values.database.mode "postgres") (not (has "DATABASE_URL" $fromSecrets)) }}
{{- fail "database.mode=postgres needs a secrets entry for DATABASE_URL (name: DATABASE_URL, secretName, secretKey)" }}
{{- end }}
{{- if and .Values.pyroscope.enabled (not .Values.pyroscope.server) }}
{{- fail "pyroscope.enabled=true needs pyroscope.server" }}
{{- end }}
{{- /* extraEnv adds variables; it must not set one twice (Kubernetes keeps the last, silently). */}}
{{- $seen := list }}
{{- range .Values.extraEnv }}
{{- if hasKey $reserved .name }}
{{- fail (printf "extraEnv %s is set by the chart; use %s instead (see values.yaml)" .name (get $reserved .name)) }}
{{- end }}
{{- if or (hasKey $.Values.env .name) (has .name $fromSecrets) }}
{{- fail (printf "extraEnv %s is also set in env or secrets" .name) }}
{{- end }}
{{- if has .name $seen }}
{{- fail (printf "extraEnv %s appears twice" .name) }}
{{- end }}
{{- $seen = append $seen .name }}
{{- end }}
{{- /* Names the chart gives its own volumes and container. */}}
{{- range .Values.extraVolumes }}
{{- if has .name (list "tmp" "data") }}
{{- fail (printf "extraVolumes: the name %q is the chart's own volume; pick another" .name) }}
{{- end }}
{{- end }}
{{- range concat .Values.extraContainers .Values.initContainers }}
{{- if eq .name "signpost" }}
{{- fail "extraContainers/initContainers: the name \"signpost\" is the chart's own container; pick another" }}
{{- end }}
{{- end }}
{{- if and (ne .Values.service.targetPortName "http") .Values.metrics.serviceMonitor.enabled (not .Values.metrics.port) }}
{{- fail (printf "service.targetPortName is %q, so the Service's http port reaches that container, not signpost: set metrics.port for the ServiceMonitor to scrape signpost directly" .Values.service.targetPortName) }}
{{- end }}
{{- if and .Values.httpRoute.enabled (not .Values.httpRoute.parentRefs) }}
{{- fail "httpRoute.enabled=true needs httpRoute.parentRefs: the Gateway (and listener) to attach the route to" }}
{{- end }}
{{- include "signpost.validateAuth" . }}
{{- end }}
