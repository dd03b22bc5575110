{{/*
The five stateless services: object name -> key in .Values.
*/}}
{{- define "microservices.apps" -}}
frontend: frontend
api-gateway: apiGateway
users: users
orders: orders
payments: payments
{{- end }}

{{/*
Chart label value.
*/}}
{{- define "microservices.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object of workload `name`. Call with (dict "root" $ "name" $name "svc" $svc).
*/}}
{{- define "microservices.labels" -}}
app: {{ .name }}
version: {{ .svc.version | default "v1" | quote }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .svc.version | default "v1" | quote }}
app.kubernetes.io/part-of: meshops-shop
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "microservices.chart" .root }}
{{- end }}

{{/*
Selector of a workload's pods (app + version, so versions can run side by side).
*/}}
{{- define "microservices.selectorLabels" -}}
app: {{ .name }}
version: {{ .svc.version | default "v1" | quote }}
{{- end }}

{{/*
Image reference. Call with (dict "root" $ "image" $svc.image "global" true|false).
The services fall back to global.image.tag, then to the chart's appVersion.
*/}}
{{- define "microservices.image" -}}
{{- $g := .root.Values.global.image -}}
{{- $tag := .image.tag -}}
{{- if and (not $tag) .global -}}
{{- $tag = $g.tag | default .root.Chart.AppVersion -}}
{{- end -}}
{{- if $g.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $g.registry) .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end }}

{{/*
Name of the Secret with the Postgres credentials.
*/}}
{{- define "microservices.postgresSecret" -}}
{{- .Values.postgres.auth.existingSecret | default "postgres-credentials" -}}
{{- end }}

{{/*
Base URL of a service, as the others reach it.
*/}}
{{- define "microservices.url" -}}
{{- $key := get (include "microservices.apps" .root | fromYaml) .name -}}
{{- printf "http://%s:%v" .name (index .root.Values $key).port -}}
{{- end }}

{{/*
Environment of each service (besides PORT and the user's `env`), as in docker-compose.yml.
*/}}
{{- define "microservices.env.frontend" -}}
- name: API_URL
  value: {{ include "microservices.url" (dict "root" . "name" "api-gateway") | quote }}
{{- end }}

{{- define "microservices.env.api-gateway" -}}
- name: USERS_SERVICE
  value: {{ include "microservices.url" (dict "root" . "name" "users") | quote }}
- name: ORDERS_SERVICE
  value: {{ include "microservices.url" (dict "root" . "name" "orders") | quote }}
- name: PAYMENTS_SERVICE
  value: {{ include "microservices.url" (dict "root" . "name" "payments") | quote }}
{{- end }}

{{/*
DATABASE_URL from the Secret: Kubernetes expands $(DB_USER) and $(DB_PASSWORD).
*/}}
{{- define "microservices.env.database" -}}
- name: DB_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "microservices.postgresSecret" .root }}
      key: username
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "microservices.postgresSecret" .root }}
      key: password
- name: DATABASE_URL
  value: {{ printf "postgresql://$(DB_USER):$(DB_PASSWORD)@postgres:%v/%s" .root.Values.postgres.port .database | quote }}
{{- end }}

{{- define "microservices.env.users" -}}
{{ include "microservices.env.database" (dict "root" . "database" .Values.users.database) }}
{{- end }}

{{- define "microservices.env.orders" -}}
{{ include "microservices.env.database" (dict "root" . "database" .Values.orders.database) }}
- name: PAYMENTS_SERVICE
  value: {{ include "microservices.url" (dict "root" . "name" "payments") | quote }}
{{- end }}

{{- define "microservices.env.payments" -}}
{{ include "microservices.env.database" (dict "root" . "database" .Values.payments.database) }}
{{- end }}
