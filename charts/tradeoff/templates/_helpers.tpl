{{/*
Names, labels and the namespace decisions shared by every template.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "tradeoff.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified name of the release's objects: fullnameOverride, else the release
name when it already contains the chart name, else "<release>-<chart>".
*/}}
{{- define "tradeoff.fullname" -}}
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

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "tradeoff.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select the operator's pods (never change them after install). */}}
{{- define "tradeoff.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tradeoff.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object of the release. */}}
{{- define "tradeoff.labels" -}}
helm.sh/chart: {{ include "tradeoff.chart" . }}
{{ include "tradeoff.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: tradeoff
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "tradeoff.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tradeoff.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator image, its tag defaulting to the chart's appVersion. */}}
{{- define "tradeoff.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
"true" when the operator watches every namespace: cluster-wide RBAC and no
operator.watchNamespaces. Otherwise it watches tradeoff.watchNamespaces.
*/}}
{{- define "tradeoff.allNamespaces" -}}
{{- if and (eq .Values.rbac.scope "cluster") (empty .Values.operator.watchNamespaces) }}true{{ end }}
{{- end }}

{{/*
The namespaces the operator watches, as a JSON list: operator.watchNamespaces, else
(namespaced RBAC) the release namespace. Empty when it watches all namespaces.
*/}}
{{- define "tradeoff.watchNamespaces" -}}
{{- if include "tradeoff.allNamespaces" . }}
{{- list | toJson }}
{{- else if .Values.operator.watchNamespaces }}
{{- .Values.operator.watchNamespaces | uniq | toJson }}
{{- else }}
{{- list .Release.Namespace | toJson }}
{{- end }}
{{- end }}

{{/* Where the economics defaults are mounted in the operator's container. */}}
{{- define "tradeoff.economicsPath" -}}
/etc/tradeoff/economics.json
{{- end }}

{{/*
RBAC rules the operator needs in each namespace it watches. Least privilege: no
wildcards, no secrets, no configmaps.
*/}}
{{- define "tradeoff.namespacedRules" -}}
# Studies: read and watched by kopf, which patches them (finalizers, annotations).
- apiGroups: ["tradeoff.dev"]
  resources: ["studies"]
  verbs: ["get", "list", "watch", "patch"]
# Trials: created by the operator, watched and patched by kopf (trial daemons).
- apiGroups: ["tradeoff.dev"]
  resources: ["trials"]
  verbs: ["get", "list", "watch", "create", "patch"]
# Status is written as a JSON patch of the status subresource.
- apiGroups: ["tradeoff.dev"]
  resources: ["studies/status", "trials/status"]
  verbs: ["patch"]
# Owner references with blockOwnerDeletion (Trials owned by Studies, pods by Trials).
- apiGroups: ["tradeoff.dev"]
  resources: ["studies/finalizers", "trials/finalizers"]
  verbs: ["update"]
# Trial pods (created, watched: their state drives each trial, deleted when left over),
# and their logs (the metrics).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "delete"]
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
# Events are only ever posted (by the operator and by kopf).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- range .Values.trialPolicy.workloads }}
# Trials that are {{ .kind }}s ({{ .apiVersion }}): created, read, watched (their
# conditions end the trial), deleted when pruned or cancelled, listed to find those a
# crash left running (trialPolicy.workloads).
- apiGroups: [{{ include "tradeoff.apiGroup" .apiVersion | quote }}]
  resources: [{{ .resource | quote }}]
  verbs: ["get", "list", "watch", "create", "delete"]
{{- end }}
{{- if and .Values.peering.enabled (not (include "tradeoff.allNamespaces" .)) }}
- apiGroups: ["kopf.dev"]
  resources: ["kopfpeerings"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- end }}

{{/* RBAC rules on cluster-scoped resources; empty when none is needed. */}}
{{- define "tradeoff.clusterRules" -}}
{{- if and (include "tradeoff.allNamespaces" .) .Values.peering.enabled }}
- apiGroups: ["kopf.dev"]
  resources: ["clusterkopfpeerings"]
  verbs: ["get", "list", "watch", "patch"]
{{- end }}
{{- if .Values.rbac.nodeAccess }}
# Node labels (region, instance type, spot) price trials: one node read at a time.
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["get"]
{{- end }}
{{- end }}

{{/* The artifact claim's name: artifacts.persistentVolumeClaim.claimName or <fullname>-artifacts. */}}
{{- define "tradeoff.artifactsClaim" -}}
{{- .Values.artifacts.persistentVolumeClaim.claimName | default (printf "%s-artifacts" (include "tradeoff.fullname" .)) }}
{{- end }}

{{/* Artifacts go to one store: a claim or a bucket (a bucket needs its name). */}}
{{- define "tradeoff.checkArtifacts" -}}
{{- with .Values.artifacts }}
{{- if and .s3.enabled .persistentVolumeClaim.enabled }}
{{- fail "artifacts: enable persistentVolumeClaim or s3, not both (each trial's artifacts go to one store)" }}
{{- end }}
{{- if and .s3.enabled (not .s3.bucket) }}
{{- fail "artifacts.s3.bucket: name the bucket (artifacts.s3.enabled is true)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The API group of an apiVersion ("batch/v1" -> "batch"; "v1" -> ""). */}}
{{- define "tradeoff.apiGroup" -}}
{{- if contains "/" . }}{{ (splitList "/" .) | first }}{{ end -}}
{{- end }}

{{/* TRADEOFF_WORKLOAD_KINDS: apiVersion/kind=resource of each allowed workload kind. */}}
{{- define "tradeoff.workloadKinds" -}}
{{- $out := list -}}
{{- range .Values.trialPolicy.workloads -}}
{{- $out = append $out (printf "%s/%s=%s" .apiVersion .kind .resource) -}}
{{- end -}}
{{- join "," $out -}}
{{- end }}
