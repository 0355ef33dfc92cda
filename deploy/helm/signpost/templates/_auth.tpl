{{- /* The auth block's env vars (AUTH_MODE=none renders none: it is the
binary's default, and NOTES warns). */}}
{{- define "signpost.authEnv" -}}
{{- $a := .Values.auth }}
{{- if ne $a.mode "none" }}
- name: AUTH_MODE
  value: {{ $a.mode | quote }}
{{- with $a.trustedProxies }}
- name: TRUSTED_PROXIES
  value: {{ . | quote }}
{{- end }}
{{- with $a.admins }}
- name: ADMINS
  value: {{ join "," . | quote }}
{{- end }}
{{- with $a.adminGroups }}
- name: ADMIN_GROUPS
  value: {{ join "," . | quote }}
{{- end }}
{{- if $a.requireLogin }}
- name: REQUIRE_LOGIN
  value: "true"
{{- end }}
{{- end }}
{{- if eq $a.mode "proxy" }}
- name: AUTH_PROXY_HEADER
  value: {{ $a.proxy.header | quote }}
{{- with $a.proxy.groupsHeader }}
- name: AUTH_PROXY_GROUPS_HEADER
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if eq $a.mode "oidc" }}
{{- $o := $a.oidc }}
- name: OIDC_ISSUER
  value: {{ $o.issuer | quote }}
- name: OIDC_CLIENT_ID
  value: {{ $o.clientID | quote }}
{{- with $o.redirectURL }}
- name: OIDC_REDIRECT_URL
  value: {{ . | quote }}
{{- end }}
- name: OIDC_SCOPES
  value: {{ $o.scopes | quote }}
- name: OIDC_GROUPS_CLAIM
  value: {{ $o.groupsClaim | quote }}
{{- with $o.allowedDomains }}
- name: OIDC_ALLOWED_DOMAINS
  value: {{ join "," . | quote }}
{{- end }}
- name: OIDC_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $o.secretName }}
      key: {{ $o.clientSecretKey }}
- name: SESSION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $o.secretName }}
      key: {{ $o.sessionKeyKey }}
{{- end }}
{{- end }}

{{- /* The auth block's checks; its env names are the chart's to set (not
in env, secrets or extraEnv). */}}
{{- define "signpost.validateAuth" -}}
{{- $a := .Values.auth }}
{{- range list "AUTH_MODE" "AUTH_PROXY_HEADER" "AUTH_PROXY_GROUPS_HEADER" "TRUSTED_PROXIES" "ADMINS" "ADMIN_GROUPS" "REQUIRE_LOGIN" "OIDC_ISSUER" "OIDC_CLIENT_ID" "OIDC_CLIENT_SECRET" "OIDC_CLIENT_SECRET_FILE" "OIDC_REDIRECT_URL" "OIDC_SCOPES" "OIDC_GROUPS_CLAIM" "OIDC_ALLOWED_DOMAINS" "SESSION_KEY" "SESSION_KEY_FILE" }}
{{- if hasKey $.Values.env . }}
{{- fail (printf "env.%s is set by the chart; use auth.* instead (see values.yaml)" .) }}
{{- end }}
{{- $name := . }}
{{- range $.Values.secrets }}
{{- if eq .name $name }}
{{- fail (printf "secrets entry %s is set by the chart; use auth.* instead (auth.oidc.secretName for the OIDC secrets)" $name) }}
{{- end }}
{{- end }}
{{- range $.Values.extraEnv }}
{{- if eq .name $name }}
{{- fail (printf "extraEnv %s is set by the chart; use auth.* instead (see values.yaml)" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and $a.requireLogin (eq $a.mode "none") }}
{{- fail "auth.requireLogin needs auth.mode proxy or oidc: with none nobody can sign in" }}
{{- end }}
{{- if and (eq $a.mode "oidc") (or (not $a.oidc.issuer) (not $a.oidc.clientID)) }}
{{- fail "auth.mode=oidc needs auth.oidc.issuer and auth.oidc.clientID" }}
{{- end }}
{{- end }}
