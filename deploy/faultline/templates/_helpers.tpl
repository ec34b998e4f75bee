{{/*
Names and labels. The service's pods are `app.kubernetes.io/name: <name>`, the agents'
`<name>-agent` (faultline / faultline-agent by default, which is what `faultline serve
--kubernetes` looks for when no --agent-selector is given). The chart passes the agent
selector explicitly anyway, built from the same helper as the DaemonSet's pod labels, so
the two cannot drift apart.
*/}}

{{- define "faultline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 57 | trimSuffix "-" -}}
{{- end -}}

{{- define "faultline.agentName" -}}
{{- printf "%s-agent" (include "faultline.name" .) -}}
{{- end -}}

{{/* Room for the "-agent-metrics" suffix within the 63-character name limit. */}}
{{- define "faultline.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 49 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 49 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 49 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "faultline.agentFullname" -}}
{{- printf "%s-agent" (include "faultline.fullname" .) -}}
{{- end -}}

{{- define "faultline.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: faultline
{{- end -}}

{{/* Selector labels: immutable on a Deployment/DaemonSet, so nothing that changes per release. */}}
{{- define "faultline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "faultline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "faultline.agentSelectorLabels" -}}
app.kubernetes.io/name: {{ include "faultline.agentName" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "faultline.labels" -}}
{{ include "faultline.commonLabels" . }}
{{ include "faultline.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "faultline.agentLabels" -}}
{{ include "faultline.commonLabels" . }}
{{ include "faultline.agentSelectorLabels" . }}
app.kubernetes.io/component: agent
{{- end -}}

{{/* `--agent-selector`: the agent pods' selector labels as `k=v,k=v`. */}}
{{- define "faultline.agentSelectorArg" -}}
{{- $pairs := list -}}
{{- range $k, $v := (include "faultline.agentSelectorLabels" . | fromYaml) -}}
{{- $pairs = append $pairs (printf "%s=%s" $k $v) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{- define "faultline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "faultline.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "faultline.secretName" -}}
{{- default (printf "%s-tokens" (include "faultline.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "faultline.notifySecretName" -}}
{{- default (printf "%s-notify" (include "faultline.fullname" .)) .Values.notify.existingSecret -}}
{{- end -}}

{{- define "faultline.notifyEnabled" -}}
{{- if or .Values.notify.existingSecret .Values.notify.config }}true{{ end -}}
{{- end -}}

{{- define "faultline.leaseName" -}}
{{- default (printf "%s-leader" (include "faultline.fullname" .)) .Values.leaderElection.leaseName -}}
{{- end -}}

{{- define "faultline.image" -}}
{{- printf "%s:%s" .image.repository (default .chart.AppVersion .image.tag) -}}
{{- end -}}

{{/* Protected namespaces: the configured ones plus the release's own, each once. */}}
{{- define "faultline.protectedNamespaces" -}}
{{- $all := append (.Values.protectedNamespaces | default list) .Release.Namespace | uniq -}}
{{- toYaml $all -}}
{{- end -}}

{{/*
HTTPS or HTTP for the API's probes (tls.serve.enabled).
*/}}
{{- define "faultline.apiScheme" -}}
{{- if .Values.tls.serve.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/*
The agents' liveness/readiness check: /healthz over HTTP or HTTPS, or only the port under
mutual TLS (kubelet has no client certificate to show).
*/}}
{{- define "faultline.agentProbe" -}}
{{- if .Values.tls.agents.mutual -}}
tcpSocket:
  port: agent
{{- else -}}
httpGet:
  path: /healthz
  port: agent
  scheme: {{ if .Values.tls.agents.enabled }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}
{{- end }}
{{/* The bundled PostgreSQL's name (StatefulSet, Service, Secret). */}}
{{- define "faultline.postgresName" -}}
{{ include "faultline.fullname" . }}-postgres
{{- end }}

{{/* The --store URL: the external one, or the bundled database's. */}}
{{- define "faultline.storeUrl" -}}
{{- if .Values.store.postgres.bundled.enabled -}}
postgres://faultline@{{ include "faultline.postgresName" . }}.{{ .Release.Namespace }}.svc:5432/faultline
{{- else -}}
{{ .Values.store.postgres.url }}
{{- end }}
{{- end }}

{{/* The Secret holding the PostgreSQL password ("" when the database wants none). */}}
{{- define "faultline.storePasswordSecret" -}}
{{- if .Values.store.postgres.passwordSecret.name -}}
{{ .Values.store.postgres.passwordSecret.name }}
{{- else if .Values.store.postgres.bundled.enabled -}}
{{ include "faultline.postgresName" . }}
{{- end }}
{{- end }}

{{/* The bundled PostgreSQL's labels: its own name, so no service selector, monitor or
policy aimed at the faultline pods picks it up. */}}
{{- define "faultline.postgresLabels" -}}
{{ include "faultline.commonLabels" . }}
app.kubernetes.io/name: {{ include "faultline.name" . }}-postgres
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: postgres
{{- end -}}

{{- /*
The service's replica count: replicaCount (the name Helm charts use), or `replicas`, its
deprecated alias from before issue 27, when only that is set. Both set and different is
refused: which one was meant cannot be guessed.
*/ -}}
{{- define "faultline.replicaCount" -}}
{{- $count := int .Values.replicaCount -}}
{{- if not (kindIs "invalid" .Values.replicas) -}}
{{- $old := int .Values.replicas -}}
{{- if and (ne $count 1) (ne $count $old) -}}
{{- fail (printf "replicas: %d and replicaCount: %d disagree: replicas is the deprecated name of replicaCount; set replicaCount only" $old $count) -}}
{{- end -}}
{{- $count = $old -}}
{{- end -}}
{{- $count -}}
{{- end -}}
