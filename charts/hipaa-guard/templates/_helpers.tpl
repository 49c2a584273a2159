{{/* Names, labels, images and the shared pod hardening of the hipaa-guard chart. */}}

{{- define "hipaa-guard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every object name: the release name, plus the chart name unless the release holds it. */}}
{{- define "hipaa-guard.fullname" -}}
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

{{- define "hipaa-guard.operator.fullname" -}}
{{- printf "%s-operator" (include "hipaa-guard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hipaa-guard.webhook.fullname" -}}
{{- printf "%s-webhook" (include "hipaa-guard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Secret holding the webhook's serving certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "hipaa-guard.webhook.tlsSecretName" -}}
{{- if eq .Values.certificates.mode "provided" }}
{{- .Values.certificates.provided.secretName }}
{{- else }}
{{- printf "%s-tls" (include "hipaa-guard.webhook.fullname" .) }}
{{- end }}
{{- end }}

{{- define "hipaa-guard.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "hipaa-guard.operator.fullname" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hipaa-guard.webhook.serviceAccountName" -}}
{{- if .Values.webhook.serviceAccount.create }}
{{- default (include "hipaa-guard.webhook.fullname" .) .Values.webhook.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.webhook.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hipaa-guard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "hipaa-guard.labels" -}}
helm.sh/chart: {{ include "hipaa-guard.chart" . }}
app.kubernetes.io/name: {{ include "hipaa-guard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hipaa-guard
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "operator"). */}}
{{- define "hipaa-guard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hipaa-guard.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Labels of one component's objects; call with (dict "ctx" $ "component" "operator"). */}}
{{- define "hipaa-guard.componentLabels" -}}
{{ include "hipaa-guard.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* An image reference; call with (dict "ctx" $ "image" .Values.operator.image). */}}
{{- define "hipaa-guard.image" -}}
{{- $repository := .image.repository }}
{{- with .ctx.Values.imageRegistry }}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}
{{- end }}
{{- if .image.digest }}
{{- printf "%s@%s" $repository .image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}
{{- end }}

{{/* ServiceAccount annotations as a YAML map (empty when none): the IRSA role plus any others; call with the
     serviceAccount values. */}}
{{- define "hipaa-guard.serviceAccountAnnotations" -}}
{{- $annotations := deepCopy (default dict .annotations) }}
{{- with .irsaRoleArn }}
{{- $_ := set $annotations "eks.amazonaws.com/role-arn" . }}
{{- end }}
{{- with $annotations }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/* Pod-level hardening shared by both components. */}}
{{- define "hipaa-guard.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level hardening shared by both components. */}}
{{- define "hipaa-guard.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Default scheduling spread of one component: other nodes preferred, zones balanced when possible;
     call with (dict "ctx" $ "component" "webhook" "values" .Values.webhook). */}}
{{- define "hipaa-guard.scheduling" -}}
{{- $selector := include "hipaa-guard.selectorLabels" (dict "ctx" .ctx "component" .component) -}}
affinity:
{{- if .values.affinity }}
  {{- toYaml .values.affinity | nindent 2 }}
{{- else }}
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- $selector | nindent 14 }}
{{- end }}
topologySpreadConstraints:
{{- if .values.topologySpreadConstraints }}
  {{- toYaml .values.topologySpreadConstraints | nindent 2 }}
{{- else }}
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- $selector | nindent 8 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}

{{/* An alert's labels and the start of its annotations (the runbook link; the caller adds summary and
     description); call with (dict "name" "HipaaGuardX" "severity" "warning" "base" <runbookBaseUrl>
     "extra" <additionalAlertLabels>). */}}
{{- define "hipaa-guard.alertMeta" -}}
labels:
  severity: {{ .severity }}
  {{- with .extra }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
annotations:
  runbook_url: {{ printf "%s#%s" .base (lower .name) }}
{{- end }}
